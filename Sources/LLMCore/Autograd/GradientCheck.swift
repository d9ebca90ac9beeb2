// Introduced in Chapter 00. The finite-difference gradient checker every backward is tested with.
//
// For a function out = f(inputs), pick a fixed random R of out's shape and let L = Σ out ⊙ R, so that
// every output element matters. Autograd gives ∂L/∂x by `backward(out, seed: R)`. The central
// difference gives it numerically: ∂L/∂xᵢ ≈ (L(xᵢ + h) − L(xᵢ − h)) / 2h, whose error is O(h²)
// (the one-sided (L(x + h) − L(x))/h is only O(h)). In Float32, L itself carries rounding noise of
// about 1e-7·Σ|out·R|, which the division by 2h amplifies: so h is not tiny (1e-2 by default) and the
// comparison allows |analytic − numeric| ≤ tolerance · max(1, |analytic|, |numeric|).

/// What a gradient check found.
public struct GradientCheckReport: Sendable, CustomStringConvertible {
    /// max over all checked elements of |analytic − numeric| / max(1, |analytic|, |numeric|).
    public let maxError: Float
    /// Where that worst element is: the input's name (or index) and the flat element index.
    public let worstInput: String
    public let worstElement: Int
    public let worstAnalytic: Float
    public let worstNumeric: Float
    /// How many partial derivatives were compared.
    public let checkedCount: Int
    public let tolerance: Float

    public var passed: Bool { maxError <= tolerance }

    public var description: String {
        let verdict = passed ? "passed" : "FAILED"
        return "gradient check \(verdict): \(checkedCount) partials, max error \(String(format: "%.2e", maxError)) "
            + "(tolerance \(String(format: "%.0e", tolerance))) at \(worstInput)[\(worstElement)]: "
            + "analytic \(worstAnalytic), numeric \(worstNumeric)"
    }
}

public enum GradientCheck {
    /// Compares autograd's gradients with central differences for every element of every input that
    /// requires a gradient. `function` must be deterministic (seed any randomness inside it).
    public static func run(_ inputs: [Variable], step h: Float = 1e-2, tolerance: Float = 1e-2, seed: UInt64 = 7,
                           _ function: (Tape, [Variable]) -> Variable) -> GradientCheckReport {
        // Analytic: one backward pass with seed R.
        inputs.forEach { $0.grad = nil }
        let tape = Tape()
        let output = function(tape, inputs)
        var generator = SeededGenerator(seed: seed)
        let projection = Tensor.randomNormal(output.shape, using: &generator)
        tape.backward(output, seed: projection)

        func objective() -> Double {  // L = Σ out ⊙ R, forward only, in Double
            let out = function(Tape.inference, inputs).value
            var total: Double = 0
            for i in 0..<out.count { total += Double(out.base[i]) * Double(projection.base[i]) }
            return total
        }

        var worst = (error: Float(-1), input: "", element: 0, analytic: Float(0), numeric: Float(0))
        var checked = 0
        for (k, input) in inputs.enumerated() where input.requiresGrad {
            let analytic = input.grad ?? Tensor(zeros: input.shape)  // unused input: gradient 0
            for i in 0..<input.value.count {
                let original = input.value.base[i]
                input.value[flat: i] = original + h
                let plus = objective()
                input.value[flat: i] = original - h
                let minus = objective()
                input.value[flat: i] = original
                let numeric = Float((plus - minus) / Double(2 * h))
                let a = analytic.base[i]
                let error = abs(a - numeric) / max(1, abs(a), abs(numeric))
                checked += 1
                if error > worst.error || error.isNaN {
                    worst = (error.isNaN ? .infinity : error,
                             input.name.isEmpty ? "input \(k)" : input.name, i, a, numeric)
                }
            }
        }
        return GradientCheckReport(maxError: max(worst.error, 0), worstInput: worst.input, worstElement: worst.element,
                                   worstAnalytic: worst.analytic, worstNumeric: worst.numeric,
                                   checkedCount: checked, tolerance: tolerance)
    }
}

extension Tensor {
    /// Element access by flat row-major index.
    public subscript(flat index: Int) -> Float {
        get {
            if index < 0 || index >= count { shapeFailure("Tensor[flat:]",
                                            "index \(index) out of range 0..<\(count) for shape \(shape)") }
            return base[index]
        }
        set {
            if index < 0 || index >= count { shapeFailure("Tensor[flat:]",
                                            "index \(index) out of range 0..<\(count) for shape \(shape)") }
            makeUnique()
            base[index] = newValue
        }
    }
}
