// GnuplotBridge: the C face of a small C++ target over gnuplot-iostream.h (Chapter 00).
// Swift calls these two functions; the C++ side owns the pipe to gnuplot.
#ifndef LLM_GNUPLOT_BRIDGE_H
#define LLM_GNUPLOT_BRIDGE_H

#ifdef __cplusplus
extern "C" {
#endif

/// Opens a pipe to `gnuplot` (or $GNUPLOT_IOSTREAM_CMD's program when set) with `directory` as the
/// working directory and its standard error appended to `log_path`, sends `script` followed by a
/// newline, and waits for gnuplot to finish. Returns 0 when the script was delivered, -1 when the pipe
/// could not be opened (a reason is copied into `error`, at most `error_capacity` bytes with the NUL).
/// Whether gnuplot liked the script is for the caller to judge from the files it was asked to write.
int llm_gnuplot_run(const char *directory, const char *script, const char *log_path,
                    char *error, int error_capacity);

#ifdef __cplusplus
}
#endif

#endif

#ifdef __cplusplus
extern "C" {
#endif


#ifdef __cplusplus
}
#endif
