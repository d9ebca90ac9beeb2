// Introduced in Chapter 03. Reading and writing a safetensors file (the format and the dtype rules are
// at the top of Safetensors.swift).

import Foundation

public struct SafetensorsFile: @unchecked Sendable {
    public let path: String
    /// Entries in the order of their data.
    public let entries: [SafetensorsEntry]
    public let metadata: [String: String]
    private let data: Data
    private let dataStart: Int

    /// The most header bytes a file may declare (the Python reader's limit is 100 MB too).
    public static let maximumHeaderBytes = 100_000_000

    public func entry(_ name: String) -> SafetensorsEntry? { entries.first { $0.name == name } }

    /// Reads and validates a safetensors file (memory-mapped: tensors are read from the page cache on use).
    public static func read(_ url: URL) throws -> SafetensorsFile {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw CheckpointError(path: path,
                                                                                        reason: "the file does not " +
                                                                                            "exist") }
        let data: Data
        do { data = try Data(contentsOf: url, options: .alwaysMapped) } catch {
            throw CheckpointError(path: path, reason: "cannot be read (\(error.localizedDescription))")
        }
        return try parse(data, path: path)
    }

    /// Validates safetensors bytes (what `read` does after mapping the file; the fuzz target's entry).
    public static func parse(_ data: Data, path: String) throws -> SafetensorsFile {
        func fail(_ reason: String,
                  _ tensor: String? = nil) -> CheckpointError { CheckpointError(path: path,
                                                                                tensor: tensor, reason: reason) }
        guard data.count >= 8 else { throw fail("only \(data.count) bytes: too short for the 8-byte header length " +
                                                "(truncated?)") }
        let headerLength = data.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(data.count - 8) else {
            throw fail("the header claims \(headerLength) bytes but the file has \(data.count - 8) after the length " +
                       "(truncated?)")
        }
        guard headerLength <= UInt64(maximumHeaderBytes) else { throw fail("the header claims \(headerLength) bytes, " +
                                                                           "more than the 100 MB allowed") }
        let start = data.startIndex
        let headerData = data.subdata(in: (start + 8)..<(start + 8 + Int(headerLength)))
        guard let header = (try? JSONSerialization.jsonObject(with: headerData)) as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength), bufferSize = data.count - dataStart
        var entries: [SafetensorsEntry] = []
        var metadata: [String: String] = [:]
        for (name, value) in header {
            if name == "__metadata__" {
                guard let dictionary = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (k, v) in dictionary {
                    guard let text = v as? String else { throw fail("__metadata__ value of '\(k)' is not a string") }
                    metadata[k] = text
                }
                continue
            }
            guard let fields = value as? [String: Any] else { throw fail("the header entry is not an object", name) }
            guard let dtypeName = fields["dtype"] as? String else { throw fail("dtype is missing or not a string", name) }
            guard let dtype = DType(rawValue: dtypeName) else {
                throw fail("dtype \(dtypeName) is not supported; the course reads " +
                           "\(DType.allCases.map(\.rawValue).joined(separator: ", "))", name)
            }
            guard let rawShape = fields["shape"] as? [Any], rawShape.count <= 16 else {
                throw fail("shape is missing or not a list (of at most 16 dimensions)", name)
            }
            let shape = rawShape.compactMap(jsonWholeNumber)
            guard shape.count == rawShape.count else { throw fail("shape \(rawShape) is not a list of whole numbers " +
                                                                  "≥ 0", name) }
            guard let rawOffsets = fields["data_offsets"] as? [Any], rawOffsets.count == 2,
                  let begin = jsonWholeNumber(rawOffsets[0]),
                      let end = jsonWholeNumber(rawOffsets[1]), begin <= end else {
                throw fail("data_offsets is not [begin, end] with whole numbers 0 ≤ begin ≤ end", name)
            }
            guard end <= bufferSize else {
                throw fail("data_offsets end \(end) is past the data buffer (\(bufferSize) bytes; truncated?)", name)
            }
            guard let count = checkedElementCount(shape), let expected = multiplied(count, dtype.byteSize) else {
                throw fail("shape \(shape) has more elements than can be addressed", name)
            }
            guard expected == end - begin else {
                throw fail("shape \(shape) of \(dtype.rawValue) needs \(expected) bytes but data_offsets span " +
                           "\(end - begin)", name)
            }
            entries.append(SafetensorsEntry(name: name, dtype: dtype, shape: shape, begin: begin, end: end))
        }
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var covered = 0
        for entry in entries {
            if entry.begin < covered { throw fail("its bytes \(entry.begin)..<\(entry.end) overlap the previous " +
                                                  "tensor's", entry.name) }
            if entry.begin > covered { throw fail("there is a hole in the data buffer before it (bytes " +
                                                  "\(covered)..<\(entry.begin))", entry.name) }
            covered = entry.end
        }
        if covered != bufferSize { throw fail("the data buffer has \(bufferSize - covered) bytes no tensor uses") }
        return SafetensorsFile(path: path, entries: entries, metadata: metadata, data: data, dataStart: dataStart)
    }

    /// A tensor as Float32 (other dtypes converted by the rules in Safetensors.swift).
    public func tensor(_ name: String) throws -> Tensor {
        guard let entry = entry(name) else { throw CheckpointError(path: path, tensor: name, reason: "is missing") }
        var tensor = Tensor(zeros: entry.shape)
        let count = tensor.count
        data.withUnsafeBytes { raw in
            let bytes = raw.baseAddress! + dataStart + entry.begin
            tensor.withUnsafeMutableBufferPointer { out in
                for i in 0..<count { out[i] = decodeFloat(bytes, entry.dtype, i) }
            }
        }
        return tensor
    }

    /// A tensor as stored, dtype and bytes unchanged.
    public func raw(_ name: String) throws -> StoredTensor {
        guard let entry = entry(name) else { throw CheckpointError(path: path, tensor: name, reason: "is missing") }
        let bytes = data.withUnsafeBytes { raw in
            Array(UnsafeRawBufferPointer(rebasing: raw[(dataStart + entry.begin)..<(dataStart + entry.end)]))
        }
        return try StoredTensor(name: name, dtype: entry.dtype, shape: entry.shape, bytes: bytes)
    }

    /// Writes Float32 tensors (converted to `dtype`) and metadata to `url` atomically. Names must be unique.
    public static func write(_ tensors: [(String, Tensor)], dtype: DType = .F32, metadata: [String: String] = [:],
                             to url: URL) throws {
        try write(tensors.map { try StoredTensor(name: $0.0, $0.1, as: dtype) }, metadata: metadata, to: url)
    }

    /// Writes stored tensors, each in its own dtype, and metadata to `url` atomically. Names must be unique.
    public static func write(_ tensors: [StoredTensor], metadata: [String: String] = [:], to url: URL) throws {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for tensor in tensors {
            if header[tensor.name] != nil || tensor.name == "__metadata__" {
                throw CheckpointError(path: url.path, tensor: tensor.name,
                                      reason: "appears twice (or is a reserved name)")
            }
            header[tensor.name] = ["dtype": tensor.dtype.rawValue, "shape": tensor.shape,
                                   "data_offsets": [offset, offset + tensor.bytes.count]] as [String: Any]
            offset += tensor.bytes.count
        }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20,
                                        count: (8 - json.count % 8) % 8))  // pad with spaces to 8 bytes
        var file = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        for tensor in tensors { file.append(contentsOf: tensor.bytes) }
        try AtomicFile.write(file, to: url)
    }
}
