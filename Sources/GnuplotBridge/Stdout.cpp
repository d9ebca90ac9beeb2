// A console helper Swift cannot write itself: see GnuplotBridge.h.
#include "GnuplotBridge.h"

#include <cstdio>

extern "C" void llm_line_buffer_stdout(void) { std::setvbuf(stdout, nullptr, _IOLBF, 0); }
