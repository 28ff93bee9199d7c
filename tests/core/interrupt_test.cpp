// The interrupt guard that collect and merge poll: which signal is reported, a second signal of either kind ends the
// process, an ignored SIGINT stays ignored, and the guard's end restores what was there.
#include "core/interrupt.hpp"

#include <gtest/gtest.h>
#include <signal.h>

namespace dle {
namespace {

void (*handler_of(int sig))(int) {
  struct sigaction now {};
  sigaction(sig, nullptr, &now);
  return now.sa_handler;
}

// Restores SIGINT and SIGTERM to what they were when the test began, whatever it did.
class Signals : public ::testing::Test {
 protected:
  void SetUp() override {
    sigaction(SIGINT, nullptr, &int_);
    sigaction(SIGTERM, nullptr, &term_);
  }
  void TearDown() override {
    sigaction(SIGINT, &int_, nullptr);
    sigaction(SIGTERM, &term_, nullptr);
  }
  struct sigaction int_ {}, term_ {};
};

TEST_F(Signals, TheFirstSignalIsReportedAndASecondOfEitherKindEndsTheProcess) {
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  {
    InterruptGuard guard;
    EXPECT_FALSE(InterruptGuard::flag().load());
    EXPECT_EQ(InterruptGuard::signal_number(), 0);
    EXPECT_NE(handler_of(SIGINT), SIG_DFL);
    EXPECT_NE(handler_of(SIGTERM), SIG_DFL);
    raise(SIGTERM);
    EXPECT_TRUE(InterruptGuard::flag().load());
    EXPECT_EQ(InterruptGuard::signal_number(), SIGTERM);
    EXPECT_EQ(signal_description(InterruptGuard::signal_number()), "SIGTERM");
    // Both are back to their default action: a second Ctrl-C or SIGTERM would end the process at once.
    EXPECT_EQ(handler_of(SIGINT), SIG_DFL);
    EXPECT_EQ(handler_of(SIGTERM), SIG_DFL);
  }
  // A new guard starts clean.
  InterruptGuard again;
  EXPECT_FALSE(InterruptGuard::flag().load());
  EXPECT_EQ(InterruptGuard::signal_number(), 0);
  EXPECT_EQ(signal_description(SIGINT), "Ctrl-C (SIGINT)");
  EXPECT_EQ(signal_description(SIGHUP), "signal " + std::to_string(SIGHUP));
}

TEST_F(Signals, AnIgnoredSigintStaysIgnoredAndTheGuardsEndRestoresTheRest) {
  signal(SIGINT, SIG_IGN);  // as a background job of a script starts
  signal(SIGTERM, SIG_DFL);
  {
    InterruptGuard guard;
    EXPECT_EQ(handler_of(SIGINT), SIG_IGN);
    raise(SIGINT);  // ignored: no stop
    EXPECT_FALSE(InterruptGuard::flag().load());
    EXPECT_NE(handler_of(SIGTERM), SIG_DFL);  // SIGTERM still stops it
  }
  EXPECT_EQ(handler_of(SIGINT), SIG_IGN);
  EXPECT_EQ(handler_of(SIGTERM), SIG_DFL);
}

}  // namespace
}  // namespace dle
