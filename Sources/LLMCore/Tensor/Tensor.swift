// Introduced in Chapter 00. A Tensor is row-major Float32 storage with a shape; nothing more.
//
// Tensors are values: assigning one shares its buffer until either copy is written (copy-on-write),
// so a tensor you hold never changes under you. There are no views: reshaping keeps the element order,
// transposing copies. Hot loops reach the buffer through `withUnsafe(Mutable)BufferPointer`.

import Foundation

/// The heap buffer behind a `Tensor`: 64-byte aligned so SIMD loads never straddle a cache line.
final class TensorStorage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    let count: Int

    init(count: Int) {
        self.count = count
        let raw = BufferPool.shared.allocate(bytes: max(count, 1) * MemoryLayout<Float>.stride)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    convenience init(copying other: TensorStorage) {
        self.init(count: other.count)
        pointer.update(from: other.pointer, count: count)
    }

    deinit { BufferPool.shared.release(UnsafeMutableRawPointer(pointer),
                                       bytes: max(count, 1) * MemoryLayout<Float>.stride) }
}

/// A row-major array of `Float` with a shape, e.g. `[B, T, C]`.
public struct Tensor: @unchecked Sendable {
    /// The size of each dimension, outermost first.
    public private(set) var shape: [Int]
    var storage: TensorStorage

    /// The number of elements: the product of `shape` (1 for a scalar of shape `[]`).
    public var count: Int { storage.count }
    /// The number of dimensions.
    public var rank: Int { shape.count }
    /// The size of the last dimension (the "row" length of row-wise kernels); 1 for a scalar.
    public var columns: Int { shape.last ?? 1 }
    /// `count / columns`: how many rows a row-wise kernel sees.
    public var rows: Int { columns == 0 ? 0 : count / columns }

    /// A tensor of zeros.
    public init(zeros shape: [Int]) {
        self.init(shape: shape, repeating: 0)
    }

    /// A tensor with every element equal to `value`.
    public init(shape: [Int], repeating value: Float) {
        Tensor.checkShape(shape, op: "Tensor.init")
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *))
        storage.pointer.initialize(repeating: value, count: storage.count)
    }

    /// A tensor holding `values` in row-major order; `values.count` must equal the shape's product.
    public init(shape: [Int], values: [Float]) {
        Tensor.checkShape(shape, op: "Tensor.init")
        let expected = shape.reduce(1, *)
        if values.count != expected {
            shapeFailure("Tensor.init(shape:values:)", "shape \(shape) holds \(expected) values, got \(values.count)")
        }
        self.shape = shape
        storage = TensorStorage(count: expected)
        values.withUnsafeBufferPointer { source in
            if let base = source.baseAddress { storage.pointer.initialize(from: base, count: expected) }
        }
    }

    /// A scalar (shape `[]`).
    public init(scalar: Float) {
        self.init(shape: [], values: [scalar])
    }

    /// Uninitialised storage, for kernels that overwrite every element.
    init(uninitialized shape: [Int]) {
        Tensor.checkShape(shape, op: "Tensor.init")
        self.shape = shape
        storage = TensorStorage(count: shape.reduce(1, *))
    }

    private static func checkShape(_ shape: [Int], op: String) {
        if shape.contains(where: { $0 < 0 }) { shapeFailure(op, "negative dimension in shape \(shape)") }
    }

    /// All elements in row-major order.
    public var scalars: [Float] {
        Array(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    /// The single element of a tensor with one element (a loss, say).
    public var item: Float {
        if count != 1 { shapeFailure("Tensor.item", "needs exactly one element, shape is \(shape)") }
        return storage.pointer[0]
    }

    /// Element access by full index, e.g. `t[b, t, c]`. For tests and lessons, not hot loops.
    public subscript(_ index: Int...) -> Float {
        get { storage.pointer[offset(of: index)] }
        set {
            let position = offset(of: index)
            makeUnique()
            storage.pointer[position] = newValue
        }
    }

    /// The row-major offset of a full index: Σ index[d] · stride[d].
    func offset(of index: [Int]) -> Int {
        if index.count != shape.count {
            shapeFailure("Tensor.subscript",
                         "index \(index) has \(index.count) dimensions, shape \(shape) has \(shape.count)")
        }
        var offset = 0
        for (dimension, (i, size)) in zip(index, shape).enumerated() {
            if i < 0 || i >= size {
                shapeFailure("Tensor.subscript",
                             "index \(i) out of range 0..<\(size) in dimension \(dimension) of shape \(shape)")
            }
            offset = offset * size + i
        }
        return offset
    }

    /// The same elements under another shape with the same count (no data moves).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        if newShape.reduce(1, *) != count || newShape.contains(where: { $0 < 0 }) {
            shapeFailure("Tensor.reshaped", "cannot view \(shape) (\(count) elements) as \(newShape)")
        }
        var copy = self
        copy.shape = newShape
        return copy
    }

    /// Gives this value its own buffer if another value shares it (copy-on-write).
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) { storage = TensorStorage(copying: storage) }
    }

    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(UnsafeBufferPointer(start: storage.pointer, count: count))
    }

    public mutating func withUnsafeMutableBufferPointer<R>(
        _ body: (UnsafeMutableBufferPointer<Float>) throws -> R
    ) rethrows -> R {
        makeUnique()
        return try body(UnsafeMutableBufferPointer(start: storage.pointer, count: count))
    }

    /// Raw read pointer for kernels. Valid only while `self` is alive and unmodified.
    var base: UnsafeMutablePointer<Float> { storage.pointer }
}

extension Tensor: Equatable {
    /// Bitwise-equal shapes and elements (NaN is not equal to itself, as with Float).
    public static func == (lhs: Tensor, rhs: Tensor) -> Bool {
        lhs.shape == rhs.shape && lhs.withUnsafeBufferPointer { l in rhs.withUnsafeBufferPointer { r in l.elementsEqual(r) } }
    }
}

extension Tensor: CustomStringConvertible {
    /// Shape, then at most the first 8 values of the first rows, like a notebook cell prints an array.
    public var description: String {
        let rowsToShow = min(rows, 4), columnsToShow = min(columns, 8)
        var lines = ["Tensor\(shape)"]
        for r in 0..<rowsToShow {
            let values = (0..<columnsToShow).map { String(format: "%8.4f", base[r * columns + $0]) }
            lines.append("  [" + values.joined(separator: " ") + (columns > columnsToShow ? "  …]" : "]"))
        }
        if rows > rowsToShow { lines.append("  … \(rows - rowsToShow) more rows") }
        return lines.joined(separator: "\n")
    }
}

/// Stops the program on a shape error inside an op: that is a bug in the calling code, not bad input.
/// The message names the op and the shapes so the bug can be found from the log alone.
public func shapeFailure(_ op: String, _ message: String) -> Never {
    fatalError("shape error in \(op): \(message)")
}
