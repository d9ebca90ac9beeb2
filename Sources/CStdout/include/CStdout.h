#ifndef CSTDOUT_H
#define CSTDOUT_H
/// Makes standard output line-buffered (one write per line, also when it is a pipe or a file).
void llm_line_buffer_stdout(void);
void llm_flush_stdout(void);
#endif
