// Introduced in Chapter 03. The safetensors format (https://huggingface.co/docs/safetensors), read and
// written by hand, so a checkpoint made here loads in Python (`safetensors`, numpy, PyTorch) and back.
//
//   [8 bytes: N, little-endian u64] [N bytes: JSON header] [data buffer]
//   header: {"name": {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}, …, "__metadata__": {…}}
//
// Offsets are relative to the data buffer; the tensors must tile it exactly (no overlap, no hole).
// Reading memory-maps the file and checks all of that before any tensor is used, reporting the first
// problem with the tensor's name. Writing goes through a temporary file and a rename.

import Foundation

/// Element types the course reads and writes.
public enum DType: String, Sendable, CaseIterable {
    case F32, F16, BF16, I8

    public var byteSize: Int {
        switch self {
        case .F32: return 4
        case .F16, .BF16: return 2
        case .I8: return 1
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

public struct SafetensorsFile: @unchecked Sendable {
    public let path: String
    /// Entries in the order of their data.
    public let entries: [SafetensorsEntry]
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    public func entry(_ name: String) -> SafetensorsEntry? { entries.first { $0.name == name } }

    /// Reads and validates a safetensors file (memory-mapped: tensors are read from the page cache on use).
    public static func read(_ url: URL) throws -> SafetensorsFile {
        let path = url.path
        func fail(_ reason: String, _ tensor: String? = nil) -> CheckpointError { CheckpointError(path: path, tensor: tensor, reason: reason) }
        guard FileManager.default.fileExists(atPath: path) else { throw fail("the file does not exist") }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch { throw fail("cannot be read (\(error.localizedDescription))") }
        guard data.count >= 8 else { throw fail("only \(data.count) bytes: too short for the 8-byte header length (truncated?)") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("the header claims \(headerLength) bytes but the file has \(data.count - 8) after the length (truncated?)")
        }
        let headerData = data.subdata(in: 8..<(8 + Int(headerLength)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength), bufferSize = data.count - dataStart
        var entries: [SafetensorsEntry] = []
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let dictionary = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in dictionary { metadata[k] = v as? String ?? "\(v)" }
                continue
            }
            guard let fields = value as? [String: Any] else { throw fail("the header entry is not an object", name) }
            guard let dtypeName = fields["dtype"] as? String, let dtype = DType(rawValue: dtypeName) else {
                throw fail("dtype \(fields["dtype"].map { "\($0)" } ?? "(missing)") is not one of \(DType.allCases.map(\.rawValue).joined(separator: ", "))", name)
            }
            guard let shape = (fields["shape"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }),
                  shape.count == (fields["shape"] as? [Any])?.count, shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("shape is not a list of non-negative integers", name)
            }
            guard let offsets = (fields["data_offsets"] as? [Any])?.compactMap({ ($0 as? NSNumber)?.intValue }), offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1] else {
                throw fail("data_offsets is not [begin, end] with 0 ≤ begin ≤ end", name)
            }
            guard offsets[1] <= bufferSize else {
                throw fail("data_offsets end \(offsets[1]) is past the data buffer (\(bufferSize) bytes; truncated?)", name)
            }
            let expected = shape.reduce(1, *) * dtype.byteSize
            guard expected == offsets[1] - offsets[0] else {
                throw fail("shape \(shape) of \(dtype.rawValue) needs \(expected) bytes but data_offsets span \(offsets[1] - offsets[0])", name)
            }
            entries.append(SafetensorsEntry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var covered = 0
        for entry in entries {
            if entry.begin < covered { throw fail("its bytes \(entry.begin)..<\(entry.end) overlap the previous tensor's", entry.name) }
            if entry.begin > covered { throw fail("there is a hole in the data buffer before it (bytes \(covered)..<\(entry.begin))", entry.name) }
            covered = entry.end
        }
        if covered != bufferSize { throw fail("the data buffer has \(bufferSize - covered) bytes no tensor uses") }
        return SafetensorsFile(path: path, entries: entries, metadata: metadata, data: data, dataStart: dataStart)
    }

    /// A tensor as Float32 (F16, BF16 and I8 are converted).
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entry(name) else { throw CheckpointError(path: path, tensor: name, reason: "is missing") }
        var tensor = Tensor(zeros: entry.shape)
        let count = tensor.count
        data.withUnsafeBytes { raw in
            let bytes = raw.baseAddress! + dataStart + entry.begin
            tensor.withUnsafeMutableBufferPointer { out in
                for i in 0..<count {
                    switch entry.dtype {
                    case .F32: out[i] = Float(bitPattern: bytes.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self).littleEndian)
                    case .F16: out[i] = HalfFloat.float(fromHalf: bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian)
                    case .BF16: out[i] = Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self).littleEndian) << 16)
                    case .I8: out[i] = Float(Int8(bitPattern: bytes.load(fromByteOffset: i, as: UInt8.self)))
                    }
                }
            }
        }
        return tensor
    }

    /// Writes tensors (converted to `dtype`) and metadata to `url` atomically. Names must be unique.
    public static func write(_ tensors: [(String, Tensor)], dtype: DType = .F32, metadata: [String: String] = [:], to url: URL) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for (name, tensor) in tensors {
            if header[name] != nil { throw CheckpointError(path: url.path, tensor: name, reason: "appears twice") }
            let size = tensor.count * dtype.byteSize
            header[name] = ["dtype": dtype.rawValue, "shape": tensor.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))  // pad with spaces to 8 bytes
        var file = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        for (_, tensor) in tensors {
            tensor.withUnsafeBufferPointer { values in
                switch dtype {
                case .F32: values.forEach { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { file.append(contentsOf: $0) } }
                case .F16: values.forEach { v in withUnsafeBytes(of: HalfFloat.half(fromFloat: v).littleEndian) { file.append(contentsOf: $0) } }
                case .BF16: values.forEach { v in withUnsafeBytes(of: HalfFloat.bfloat16(fromFloat: v).littleEndian) { file.append(contentsOf: $0) } }
                case .I8: values.forEach { v in file.append(UInt8(bitPattern: Int8(max(-128, min(127, v.rounded()))))) }
                }
            }
        }
        try AtomicFile.write(file, to: url)
    }
}

/// IEEE half precision and bfloat16 conversions (round to nearest, ties to even), portable to every
/// platform the course builds on.
public enum HalfFloat {
    public static func float(fromHalf h: UInt16) -> Float {
        let sign = UInt32(h >> 15) << 31, exponent = Int((h >> 10) & 0x1F), mantissa = UInt32(h & 0x3FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }           // inf, NaN
        if exponent == 0 {                                                                              // zero, subnormal
            let value = Float(mantissa) * 0x1p-24
            return sign == 0 ? value : -value
        }
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | mantissa << 13)
    }

    public static func half(fromFloat f: Float) -> UInt16 {
        let bits = f.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        if f.isNaN { return sign | 0x7E00 }
        let magnitude = abs(f)
        if magnitude >= 65520 { return sign | 0x7C00 }                                                  // overflow → inf
        if magnitude < 0x1p-14 {                                                                        // subnormal half
            return sign | UInt16((magnitude * 0x1p24).rounded(.toNearestOrEven))
        }
        let exponent = Int((bits >> 23) & 0xFF) - 127 + 15
        var mantissa = bits & 0x7F_FFFF
        var result = UInt32(exponent) << 10 | mantissa >> 13
        mantissa &= 0x1FFF                                                                              // the 13 dropped bits
        if mantissa > 0x1000 || (mantissa == 0x1000 && result & 1 == 1) { result += 1 }                // may carry into the exponent
        return sign | UInt16(result)
    }

    public static func bfloat16(fromFloat f: Float) -> UInt16 {
        let bits = f.bitPattern
        if f.isNaN { return UInt16(bits >> 16) | 0x40 }
        let rounding = 0x7FFF + ((bits >> 16) & 1)
        return UInt16((bits &+ rounding) >> 16)
    }
}
