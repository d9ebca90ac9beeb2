// Introduced in Chapter 00.

/// The course's version, printed by `llm --version`.
public let version = "0.1.0 (chapter 00)"
