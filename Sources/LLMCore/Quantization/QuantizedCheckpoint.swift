// Introduced in Chapter 07. A quantized checkpoint is an ordinary checkpoint folder whose model.safetensors
// stores each quantized layer's W as three tensors instead of one F32 matrix (docs/checkpoints.md):
//
//   L.weight        I8 (out, in) for symmetric int8; U8 (out, in) for asymmetric int8; U8 (out, in/2) for int4,
//                   packed as in QuantizedMatrix.swift (GGUF's nibble order)
//   L.weight_scale  F16 (out, blocks per row): d of each block
//   L.weight_zero   U8 (out, blocks per row): z of each block (asymmetric schemes only)
//
// and names the format in the header's metadata: "quantization" = "int8-g32" (the scheme of every quantized
// layer), and "quantization.L" = another scheme for a layer that differs. Every other tensor stays F32.

import Foundation

enum QuantizedCheckpoint {
    static let metadataKey = "quantization"

    /// The stored tensors of a model with quantized layers, and the metadata naming their schemes.
    static func tensors(of model: GPT) throws -> ([StoredTensor], [String: String]) {
        var stored = try model.namedParameters.filter { !LoRAAdapter.isAdapterTensor($0.0) }
            .map { try StoredTensor(name: $0.0, $0.1.value) }
        let layers = model.quantizedMatrices
        guard let first = layers.first else { return (stored, [:]) }
        var metadata = [metadataKey: first.weight.matrix.scheme.description]
        for (layer, weight) in layers {
            let m = weight.matrix
            if m.scheme != first.weight.matrix.scheme { metadata["\(metadataKey).\(layer)"] = m.scheme.description }
            let dtype: DType = m.scheme.bits == 8 && m.scheme.symmetric ? .I8 : .U8
            stored.append(try StoredTensor(name: weight.name, dtype: dtype, shape: [m.rows, m.rowBytes],
                                           bytes: m.quants))
            var scaleBytes: [UInt8] = []
            scaleBytes.reserveCapacity(2 * m.scales.count)
            for s in m.scales { scaleBytes.append(UInt8(s & 0xFF)); scaleBytes.append(UInt8(s >> 8)) }
            stored.append(try StoredTensor(name: weight.name + "_scale", dtype: .F16,
                                           shape: [m.rows, m.blocksPerRow], bytes: scaleBytes))
            if !m.scheme.symmetric {
                stored.append(try StoredTensor(name: weight.name + "_zero", dtype: .U8,
                                               shape: [m.rows, m.blocksPerRow], bytes: m.zeros))
            }
        }
        return (stored, metadata)
    }

    /// The quantized matrices a file holds for the linear layers of `config`, by weight name (empty for a
    /// file without quantization metadata). Every tensor is checked for dtype and shape; a problem is an error
    /// naming the tensor.
    static func matrices(in file: SafetensorsFile, config: GPTConfig) throws -> [String: QuantizedMatrix] {
        guard let defaultName = file.metadata[metadataKey] else { return [:] }
        var shapes = Dictionary(config.parameterShapes, uniquingKeysWith: { a, _ in a })
        shapes[GPT.headName + ".weight"] = [config.vocabularySize, config.embeddingSize]   // also when tied
        var out: [String: QuantizedMatrix] = [:]
        for entry in file.entries where entry.name.hasSuffix(".weight_scale") {
            let name = String(entry.name.dropLast("_scale".count)), layer = String(name.dropLast(".weight".count))
            guard let shape = shapes[name], shape.count == 2,
                  name.hasPrefix("blocks.") || layer == GPT.headName else {
                throw CheckpointError(path: file.path, tensor: entry.name,
                                      reason: "is not the scale of a linear layer of this model")
            }
            let schemeName = file.metadata["\(metadataKey).\(layer)"] ?? defaultName
            guard let scheme = QuantizationScheme(name: schemeName) else {
                throw CheckpointError(path: file.path, tensor: name,
                                      reason: "has quantization '\(schemeName)', not a known scheme (int8-g32, " +
                                              "int4-g64, int8-channel, int8-tensor, …-asym)")
            }
            guard let weight = file.entry(name) else {
                throw CheckpointError(path: file.path, tensor: name, reason: "is missing, but its scale is there")
            }
            let rowBytes = scheme.bits == 8 ? shape[1] : shape[1] / 2
            let dtype: DType = scheme.bits == 8 && scheme.symmetric ? .I8 : .U8
            guard weight.dtype == dtype, weight.shape == [shape[0], rowBytes] else {
                throw CheckpointError(path: file.path, tensor: name,
                                      reason: "is \(weight.dtype.rawValue) \(weight.shape), but \(scheme) of a " +
                                              "\(shape[0]) × \(shape[1]) weight needs \(dtype.rawValue) " +
                                              "[\(shape[0]), \(rowBytes)]")
            }
            guard entry.dtype == .F16, entry.shape.count == 2, entry.shape[0] == shape[0] else {
                throw CheckpointError(path: file.path, tensor: entry.name,
                                      reason: "is \(entry.dtype.rawValue) \(entry.shape); scales are F16 " +
                                              "[\(shape[0]), blocks per row]")
            }
            let scaleBytes = try file.raw(entry.name).bytes
            let scales = stride(from: 0, to: scaleBytes.count, by: 2).map {
                UInt16(scaleBytes[$0]) | UInt16(scaleBytes[$0 + 1]) << 8
            }
            var zeros: [UInt8] = []
            if !scheme.symmetric {
                guard let zero = file.entry(name + "_zero"), zero.dtype == .U8, zero.shape == entry.shape else {
                    throw CheckpointError(path: file.path, tensor: name + "_zero",
                                          reason: "is missing or not U8 \(entry.shape), which \(scheme) needs")
                }
                zeros = try file.raw(zero.name).bytes
            }
            do {
                out[name] = try QuantizedMatrix(rows: shape[0], columns: shape[1], scheme: scheme,
                                                quants: try file.raw(name).bytes, scales: scales, zeros: zeros)
            } catch let error as CourseError {
                throw CheckpointError(path: file.path, tensor: name, reason: "\(error)")
            }
        }
        return out
    }

    /// The tensor names the quantized matrices account for (W, its scales, its zero points).
    static func storedNames(_ matrices: [String: QuantizedMatrix]) -> Set<String> {
        Set(matrices.flatMap { name, m in [name, name + "_scale"] + (m.scheme.symmetric ? [] : [name + "_zero"]) })
    }
}
