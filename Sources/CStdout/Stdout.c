// Introduced in Chapter 04. A console helper Swift 6 cannot write itself (`stdout` is a global C variable
// that strict concurrency refuses to touch): make standard output line-buffered, so logs piped to a file
// or another program arrive line by line, and flush it (a chat prompt without a newline).
#include "CStdout.h"

#include <stdio.h>

void llm_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

void llm_flush_stdout(void) { fflush(stdout); }
