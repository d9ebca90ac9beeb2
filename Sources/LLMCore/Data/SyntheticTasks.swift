// Introduced in Chapter 02. Small tasks with a known answer, for watching a model learn.

public enum SyntheticTasks {
    /// The repeat-copy task: each row is n random tokens followed by the same n tokens again. Targets are
    /// the next token, counted only in the second half (where the answer is knowable: the token n − 1
    /// positions back); the first half's targets are `ignoreIndex`. Returns ids (B, 2n) and targets (B·2n).
    public static func repeatCopy(batch: Int, half n: Int, vocabularySize: Int, generator: inout SeededGenerator,
                                  ignoreIndex: Int = -100) -> (ids: [[Int]], targets: [Int]) {
        var ids: [[Int]] = [], targets: [Int] = []
        for _ in 0..<batch {
            let first = (0..<n).map { _ in generator.integer(below: vocabularySize) }
            let row = first + first
            ids.append(row)
            for t in 0..<(2 * n) { targets.append(t >= n - 1 && t + 1 < 2 * n ? row[t + 1] : ignoreIndex) }
        }
        return (ids, targets)
    }
}
