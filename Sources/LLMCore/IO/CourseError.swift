// Introduced in Chapter 00. The errors a user can cause, each with a message that names the file or
// value and says what to do. Chapters and `llm` print `error: <description>` on one line and exit 1.

public enum CourseError: Error, CustomStringConvertible, Equatable {
    /// A corpus path that does not exist.
    case corpusMissing(path: String)
    /// A corpus with no usable text.
    case corpusEmpty(path: String)
    /// A corpus file that is not UTF-8 text.
    case corpusNotText(path: String)
    /// A folder or file that cannot be created or written.
    case unwritable(path: String, reason: String)
    /// A flag or argument value outside what it accepts.
    case invalidValue(name: String, value: String, expected: String)

    public var description: String {
        switch self {
        case .corpusMissing(let path):
            return "corpus '\(path)' does not exist; pass --corpus with a UTF-8 text file or folder, or run 'make " +
                   "deps' to install the default fortunes corpus"
        case .corpusEmpty(let path):
            return "corpus '\(path)' has no text to learn from; pass --corpus with a non-empty UTF-8 text file or " +
                   "folder"
        case .corpusNotText(let path):
            return "corpus file '\(path)' is not UTF-8 text; convert it (iconv -t UTF-8) or leave it out of --corpus"
        case .unwritable(let path, let reason):
            return "cannot write to '\(path)' (\(reason)); pass --run-dir with a folder you can write to"
        case .invalidValue(let name, let value, let expected):
            return "\(name) \(value) is not valid: expected \(expected)"
        }
    }
}

extension CourseError: CustomDebugStringConvertible {
    public var debugDescription: String { description }
}
