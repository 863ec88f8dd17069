// Only Glibc here: Foundation re-exports it without @preconcurrency, which makes `stdout`
// unusable under Swift 6's checks.
@preconcurrency import Glibc

/// The process's standard output stream.
enum StandardOutput {
    /// Switches standard output to line buffering; into a pipe it is otherwise fully buffered, and
    /// a line such as "listening on …" would wait for the buffer to fill.
    static func useLineBuffering() {
        setvbuf(stdout, nil, _IOLBF, 0)
    }
}
