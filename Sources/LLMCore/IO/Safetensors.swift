// Introduced in Chapter 03. The safetensors format (https://huggingface.co/docs/safetensors), read and
// written by hand, so a checkpoint made here loads in Python (`safetensors`, numpy, PyTorch) and back.
//
//   [8 bytes: N, little-endian u64] [N bytes: JSON header] [data buffer]
//   header: {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, …, "__metadata__": {…}}
//
// Offsets are relative to the data buffer; the tensors must tile it exactly (no overlap, no hole).
// Reading memory-maps the file and checks all of that before any tensor is used, reporting the first
// problem with the tensor's name: every shape entry and offset must be a whole number in range (not 0.5,
// not 1e300, not a string), and products are computed with overflow checks — the core is built
// `-Ounchecked` in release, where Swift's own checks are gone, so the parser checks explicitly.
// Writing goes through a temporary file and a rename.
//
// Element types and the conversion rules:
//   F32 F16 BF16 I8 U8 I32 I64 are read and written; any other dtype (F64, BOOL, F8_E4M3, …) is refused
//   with the tensor's name. A tensor keeps its dtype through `raw(_:)` and `write(_:metadata:to:)`.
//   Reading as Float32 (`tensor(_:)`): F16 and BF16 widen exactly; integers convert exactly up to 2²⁴
//   in magnitude and round to the nearest Float32 beyond.
//   Writing Float32 as F16 or BF16 rounds to nearest (ties to even), F16 overflows to ±inf; writing it
//   as an integer dtype requires every value to be a whole number in the dtype's range (else an error
//   naming the tensor and the value — nothing is clamped silently).

import Foundation

/// Element types the course reads and writes.
public enum DType: String, Sendable, CaseIterable, Codable {
    case F32, F16, BF16, I8, U8, I32, I64

    public var byteSize: Int {
        switch self {
        case .F32, .I32: return 4
        case .F16, .BF16: return 2
        case .I8, .U8: return 1
        case .I64: return 8
        }
    }

    /// The exact integer range of an integer dtype (nil for float dtypes).
    public var integerRange: ClosedRange<Double>? {
        switch self {
        case .I8: return -128...127
        case .U8: return 0...255
        case .I32: return -2_147_483_648...2_147_483_647
        case .I64: return -9_223_372_036_854_775_808...9_223_372_036_854_774_784   // the largest Double below 2⁶³
        case .F32, .F16, .BF16: return nil
        }
    }
}

public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let tensor: String?
    public let reason: String

    public init(path: String, tensor: String? = nil, reason: String) {
        self.path = path
        self.tensor = tensor
        self.reason = reason
    }

    public var description: String {
        "checkpoint '\(path)'" + (tensor.map { ": tensor '\($0)'" } ?? "") + ": \(reason)"
    }
}

public struct SafetensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public let begin: Int
    public let end: Int
}

/// A tensor as stored: its dtype, shape and little-endian bytes. How integer tensors (token ids,
/// quantized weights) and half-precision tensors keep their dtype through a round trip.
public struct StoredTensor: Sendable, Equatable {
    public let name: String
    public let dtype: DType
    public let shape: [Int]
    public let bytes: [UInt8]

    /// Checks that `bytes` holds exactly shape-product × byte-size bytes.
    public init(name: String, dtype: DType, shape: [Int], bytes: [UInt8]) throws {
        guard let count = checkedElementCount(shape), let size = multiplied(count, dtype.byteSize),
            size == bytes.count else {
            throw CheckpointError(path: "(in memory)", tensor: name,
                reason: "shape \(shape) of \(dtype.rawValue) does not match \(bytes.count) bytes")
        }
        (self.name, self.dtype, self.shape, self.bytes) = (name, dtype, shape, bytes)
    }

    /// A Float32 tensor converted to `dtype` (the rules at the top of this file).
    public init(name: String, _ tensor: Tensor, as dtype: DType = .F32) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(tensor.count * dtype.byteSize)
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        for v in tensor.scalars {
            if let range = dtype.integerRange, !(v.rounded() == v && range.contains(Double(v))) {
                throw CheckpointError(path: "(writing)", tensor: name,
                                      reason: "value \(v) is not a whole number in \(dtype.rawValue)'s range; " +
                                              "quantize it first or write F32")
            }
            switch dtype {
            case .F32: append(v.bitPattern)
            case .F16: append(HalfFloat.half(fromFloat: v))
            case .BF16: append(HalfFloat.bfloat16(fromFloat: v))
            case .I8: append(Int8(v))
            case .U8: append(UInt8(v))
            case .I32: append(Int32(v))
            case .I64: append(Int64(v))
            }
        }
        try self.init(name: name, dtype: dtype, shape: tensor.shape, bytes: bytes)
    }

    /// An integer tensor from whole numbers (I8, U8, I32 or I64); each must fit the dtype.
    public init(name: String, integers: [Int], shape: [Int], as dtype: DType) throws {
        guard let range = dtype.integerRange else {
            throw CheckpointError(path: "(writing)", tensor: name, reason: "\(dtype.rawValue) is not an integer dtype")
        }
        var bytes: [UInt8] = []
        func append<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        for v in integers {
            guard range.contains(Double(v)) || dtype == .I64 else {
                throw CheckpointError(path: "(writing)", tensor: name,
                    reason: "value \(v) does not fit \(dtype.rawValue)")
            }
            switch dtype {
            case .I8: append(Int8(v))
            case .U8: append(UInt8(v))
            case .I32: append(Int32(v))
            default: append(Int64(v))
            }
        }
        try self.init(name: name, dtype: dtype, shape: shape, bytes: bytes)
    }

    public var elementCount: Int { bytes.count / dtype.byteSize }

    /// The values as Float32 (the reading rules at the top of this file).
    public var floats: Tensor {
        let count = elementCount
        var tensor = Tensor(zeros: shape)
        bytes.withUnsafeBytes { raw in
            tensor.withUnsafeMutableBufferPointer { out in
                for i in 0..<count { out[i] = decodeFloat(raw.baseAddress!, dtype, i) }
            }
        }
        return tensor
    }

    /// The values of an integer tensor as Int (nil for float dtypes).
    public var integers: [Int]? {
        guard dtype.integerRange != nil else { return nil }
        return bytes.withUnsafeBytes { raw in
            (0..<elementCount).map { i -> Int in
                switch dtype {
                case .I8: return Int(Int8(bitPattern: raw[i]))
                case .U8: return Int(raw[i])
                case .I32: return Int(Int32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
                default: return Int(Int64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
                }
            }
        }
    }
}

/// Element `i` of little-endian `dtype` data as Float32.
@inline(__always)
func decodeFloat(_ bytes: UnsafeRawPointer, _ dtype: DType, _ i: Int) -> Float {
    switch dtype {
    case .F32: return Float(bitPattern: UInt32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
    case .F16: return HalfFloat.float(fromHalf: UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)))
    case .BF16:
        return Float(bitPattern: UInt32(UInt16(littleEndian: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))) << 16)
    case .I8: return Float(Int8(bitPattern: bytes.load(fromByteOffset: i, as: UInt8.self)))
    case .U8: return Float(bytes.load(fromByteOffset: i, as: UInt8.self))
    case .I32: return Float(Int32(littleEndian: bytes.loadUnaligned(fromByteOffset: 4 * i, as: Int32.self)))
    case .I64: return Float(Int64(littleEndian: bytes.loadUnaligned(fromByteOffset: 8 * i, as: Int64.self)))
    }
}

/// a × b, or nil on overflow (explicit: release builds drop Swift's own overflow traps).
func multiplied(_ a: Int, _ b: Int) -> Int? {
    let (product, overflow) = a.multipliedReportingOverflow(by: b)
    return overflow ? nil : product
}

/// The product of a shape's dimensions, or nil when one is negative or the product overflows.
func checkedElementCount(_ shape: [Int]) -> Int? {
    var count = 1
    for dimension in shape {
        guard dimension >= 0, let next = multiplied(count, dimension) else { return nil }
        count = next
    }
    return count
}

/// A JSON number that is a whole number in 0...2⁶² (nil for 0.5, −1, 1e300 and strings).
func jsonWholeNumber(_ value: Any) -> Int? {
    guard let number = value as? NSNumber else { return nil }
    let double = number.doubleValue
    guard double.isFinite, double >= 0, double <= 4_611_686_018_427_387_904,
        double.rounded() == double else { return nil }
    let integer = number.int64Value
    return Double(integer) == double ? Int(integer) : nil
}
