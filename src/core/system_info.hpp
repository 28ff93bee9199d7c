#pragma once
// Facts about the machine that every run records once: host, CPU model, cores, active BLAS.
#include <string>

namespace dle::sys {

std::string hostname();
std::string cpu_model();  // "model name" from /proc/cpuinfo, or "unknown"
int online_cores();
// The BLAS library that Debian's alternatives system points libblas.so.3 at (LibTorch links it), e.g.
// "openblas-pthread (/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3)"; "reference (...)" for
// the generic netlib BLAS; "not found" when no libblas.so.3 is installed.
std::string active_blas();
// True when active_blas() is an optimised one (OpenBLAS, BLIS, MKL), false for the reference BLAS.
bool blas_is_optimised();
std::string utc_now_iso8601();

}  // namespace dle::sys
