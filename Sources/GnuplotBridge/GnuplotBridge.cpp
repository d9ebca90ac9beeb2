// GnuplotBridge (Chapter 00): gnuplot-iostream.h behind a C function, so Swift needs no C++ interop.
#include "GnuplotBridge.h"

#include <cstring>
#include <exception>
#include <string>

#include <gnuplot-iostream.h>

namespace {

// POSIX shell single-quoting: 'it'\''s' for it's.
std::string shellQuote(const std::string &text) {
    std::string out = "'";
    for (char c : text) {
        if (c == '\'') out += "'\\''";
        else out += c;
    }
    return out + "'";
}

void copyError(const std::string &message, char *error, int capacity) {
    if (error == nullptr || capacity <= 0) return;
    std::strncpy(error, message.c_str(), static_cast<size_t>(capacity) - 1);
    error[capacity - 1] = '\0';
}

} // namespace

extern "C" int llm_gnuplot_run(const char *directory, const char *script, const char *log_path,
                               char *error, int error_capacity) {
    const char *fromEnvironment = std::getenv("GNUPLOT_IOSTREAM_CMD");
    std::string program = (fromEnvironment && fromEnvironment[0]) ? fromEnvironment : "gnuplot";
    // `exit 0` keeps gnuplot's own exit status away from pclose (gnuplot-iostream would print
    // "pclose returned error" on stderr); the caller checks the output files instead.
    std::string command = "cd " + shellQuote(directory) + " && " + program + " 2>>" +
                          shellQuote(log_path) + "; exit 0";
    try {
        Gnuplot gnuplot(command);
        gnuplot << script << "\n";
        gnuplot << "exit\n";
        // The destructor flushes and waits for gnuplot (pclose).
    } catch (const std::exception &exception) {
        copyError(exception.what(), error, error_capacity);
        return -1;
    }
    return 0;
}
