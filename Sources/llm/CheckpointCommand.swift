// `llm checkpoint inspect PATH`: what a checkpoint holds, and whether it is sound.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

struct CheckpointCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Inspect model checkpoints (model.safetensors + config.json).",
        subcommands: [Inspect.self])

    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the config and every tensor (name, dtype, shape, parameters); validate the file. Exits 1 with the reason when it is bad.")

        @Argument(help: "A checkpoint folder, or a .safetensors file (then without the config check).")
        var path: String

        func run() throws {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw CheckpointError(path: path, reason: "does not exist")
            }
            let folder = URL(fileURLWithPath: path)
            let weights = isFolder.boolValue ? folder.appendingPathComponent(Checkpoint.weightsFileName) : folder
            let file = try SafetensorsFile.read(weights)
            if isFolder.boolValue {
                let config = try Checkpoint.config(in: folder)
                let encoder = JSONEncoder()
                encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
                print("config.json")
                print(String(decoding: try encoder.encode(config), as: UTF8.self))
            }
            print("\n\(Chapter.relativePath(weights.path))")
            Console.printTable(["tensor", "dtype", "shape", "parameters"], file.entries.map {
                [$0.name, $0.dtype.rawValue, "\($0.shape)", Format.integer($0.shape.reduce(1, *))]
            })
            let total = file.entries.reduce(0) { $0 + $1.shape.reduce(1, *) }
            print("  \(file.entries.count) tensors, \(Format.integer(total)) parameters" +
                  (file.metadata.isEmpty ? "" : "; metadata " +
                                                "\(file.metadata.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", "))"))
            if isFolder.boolValue {
                _ = try Checkpoint.load(from: folder)   // every tensor against the config
                print("  valid: every tensor the config needs is present with the right shape")
            } else {
                print("  valid safetensors (no config.json given, so shapes were not checked against a model)")
            }
        }
    }
}
