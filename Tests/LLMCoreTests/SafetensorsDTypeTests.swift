// Every dtype on disk: each survives a round trip here and with Python's safetensors both ways; the
// conversion rules of Safetensors.swift hold; an unsupported dtype is one line naming tensor and dtype.

import Foundation
import Testing
@testable import LLMCore

/// Values exact in each dtype (the same as Tests/Fixtures/safetensors_dtypes.py).
let dtypeSamples: [DType: (shape: [Int], values: [Double])] = [
    .F32: ([2, 3], [0.5, -1.25, 3, 100, -7, 1e-3]),
    .F16: ([2, 3], [0.5, -1.25, 3, 100, -7, 0]),
    .BF16: ([3], [1, -2, 3.140625]),
    .I8: ([5], [-128, -1, 0, 1, 127]),
    .U8: ([4], [0, 1, 128, 255]),
    .I32: ([3], [-2_147_483_648, 7, 2_147_483_647]),
    .I64: ([3], [-4_611_686_018_427_387_904, 0, 1_099_511_627_777]),   // 2⁴⁰ + 1: exact in Int64 and Double, not in Float32
]

func sampleTensor(_ dtype: DType) throws -> StoredTensor {
    let (shape, values) = dtypeSamples[dtype]!
    if dtype.integerRange != nil {
        return try StoredTensor(name: dtype.rawValue.lowercased(), integers: values.map { Int($0) }, shape: shape, as: dtype)
    }
    return try StoredTensor(name: dtype.rawValue.lowercased(), Tensor(shape: shape, values: values.map { Float($0) }), as: dtype)
}

@Suite("Safetensors dtypes")
struct SafetensorsDTypeTests {
    @Test("each dtype round-trips: the same dtype, shape and bytes; integers exactly, even past 2²⁴", arguments: DType.allCases)
    func roundTrip(dtype: DType) throws {
        let url = temporaryFolder("dtype-\(dtype)").appendingPathComponent("t.safetensors")
        let written = try sampleTensor(dtype)
        try SafetensorsFile.write([written], to: url)
        let file = try SafetensorsFile.read(url)
        let read = try file.raw(written.name)
        #expect(read == written)
        #expect(file.entries.map(\.dtype) == [dtype])
        if let integers = read.integers { #expect(integers.map(Double.init) == dtypeSamples[dtype]!.values) }
        // As Float32: exact for these values except the int64 ones beyond 2²⁴, which round to nearest.
        let floats = try file.tensor(written.name).scalars
        #expect(floats == dtypeSamples[dtype]!.values.map { Float($0) })
    }

    @Test("writing Float32 as an integer dtype refuses what it would have to clamp or round")
    func integerWritesAreChecked() throws {
        let url = temporaryFolder().appendingPathComponent("i8.safetensors")
        for (values, dtype) in [([300, -3] as [Float], DType.I8), ([2.6], .I8), ([-1], .U8), ([.nan], .I32)] {
            #expect(throws: CheckpointError.self, "\(values) as \(dtype)") {
                try SafetensorsFile.write([("t", Tensor(shape: [values.count], values: values))], dtype: dtype, to: url)
            }
        }
        try SafetensorsFile.write([("t", Tensor(shape: [3], values: [-128, 0, 127]))], dtype: .I8, to: url)
        #expect(try SafetensorsFile.read(url).raw("t").integers == [-128, 0, 127])
        #expect(throws: CheckpointError.self) { try StoredTensor(name: "x", integers: [256], shape: [1], as: .U8) }
        #expect(throws: CheckpointError.self) { try StoredTensor(name: "x", dtype: .F32, shape: [2], bytes: [0, 0, 0]) }
    }

    @Test("a file with an unsupported dtype is one line naming the tensor and the dtype")
    func unknownDType() throws {
        for dtype in ["F64", "BOOL", "F8_E4M3", "U16"] {
            let url = try craftedSafetensors(["w": ["dtype": dtype, "shape": [2], "data_offsets": [0, 16]]], bytes: 16, name: "dtype-\(dtype)")
            do {
                _ = try SafetensorsFile.read(url)
                Issue.record("\(dtype) accepted")
            } catch let error as CheckpointError {
                #expect(error.tensor == "w" && error.description.contains("dtype \(dtype) is not supported"), "\(error)")
                #expect(!error.description.contains("\n"))
            }
        }
    }

    @Test("we write every dtype and Python's safetensors reads the same values (skips without Python)")
    func pythonReadsOurs() throws {
        let folder = temporaryFolder()
        for dtype in DType.allCases {
            let url = folder.appendingPathComponent("\(dtype).safetensors")
            try SafetensorsFile.write([try sampleTensor(dtype)], to: url)
            guard let output = try runPythonFixture("safetensors_dtypes.py", ["read", url.path], needs: "safetensors") else { return }
            let summary = try #require(try JSONSerialization.jsonObject(with: output) as? [String: [Any]])
            let entry = try #require(summary[dtype.rawValue.lowercased()], "\(dtype): \(summary)")
            #expect(entry[0] as? String == dtype.rawValue && entry[1] as? [Int] == dtypeSamples[dtype]!.shape)
            let values = (entry[2] as? [Any])?.compactMap { ($0 as? NSNumber)?.doubleValue }
            // Compared as Float32 for the float dtypes (JSON's decimal digits need not round-trip a Double).
            let expected = dtypeSamples[dtype]!.values
            #expect(dtype.integerRange == nil ? values?.map { Float($0) } == expected.map { Float($0) } : values == expected, "\(dtype)")
        }
    }

    @Test("Python's safetensors writes every dtype numpy has and we read them with dtype and values (skips without Python)")
    func weReadPythons() throws {
        let url = temporaryFolder().appendingPathComponent("python.safetensors")
        guard try runPythonFixture("safetensors_dtypes.py", ["write", url.path], needs: "safetensors") != nil else { return }
        let file = try SafetensorsFile.read(url)
        #expect(file.metadata["made_by"] == "safetensors_dtypes.py")
        for dtype in DType.allCases where dtype != .BF16 {
            let read = try file.raw(dtype.rawValue.lowercased())
            #expect(read == (try sampleTensor(dtype)), "\(dtype)")
        }
    }
}
