// Chapter 06 exercises — your file. Steps and hints: Exercises/Ch06.md. Then run `make exercises`.

import ExerciseKit

public struct Chapter06: Chapter06Exercises {
    public init() {}

    /// 06.1 — y = x·Wᵀ + (α/r)·(x·Aᵀ)·Bᵀ.
    public func loraForward(x: [[Float]], w: [[Float]], a: [[Float]], b: [[Float]], alpha: Float) throws -> [[Float]] {
        throw ExerciseUnsolved("the frozen product plus the scaled low-rank one (Exercises/Ch06.md, step 1)")
    }

    /// 06.2 — W + (α/r)·B·A.
    public func merge(w: [[Float]], a: [[Float]], b: [[Float]], alpha: Float) throws -> [[Float]] {
        throw ExerciseUnsolved("B·A has W's shape (Exercises/Ch06.md, step 2)")
    }

    /// 06.3 — The numbers LoRA of rank r trains on these layers.
    public func trainableCount(shapes: [(outputs: Int, inputs: Int)], rank: Int) throws -> Int {
        throw ExerciseUnsolved("A and B per layer (Exercises/Ch06.md, step 3)")
    }
}
