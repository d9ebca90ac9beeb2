// `make fuzz`: libFuzzer over the parsers of the files a user hands us (LLMCore/IO/ParserFuzzing.swift).
// Built with `-sanitize=fuzzer -D FUZZING`, its main hands libFuzzer's driver the callback, and the target
// is picked by the environment variable LLM_FUZZ_TARGET (safetensors, config, tokenizer). Built plainly (what
// `swift build` does), it is a replayer: `fuzz-parsers TARGET FILE…` runs each file through the target.

import Foundation
import LLMCore

#if FUZZING
nonisolated(unsafe) var target = ParserFuzzing.safetensors

/// libFuzzer's driver (in the toolchain's libFuzzer, linked by -sanitize=fuzzer).
@_silgen_name("LLVMFuzzerRunDriver")
func runFuzzerDriver(_ argc: UnsafeMutablePointer<CInt>,
                     _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                     _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

@main
enum FuzzMain {
    static func main() {
        let name = ProcessInfo.processInfo.environment["LLM_FUZZ_TARGET"] ?? ""
        guard let chosen = ParserFuzzing(rawValue: name) else {
            print("set LLM_FUZZ_TARGET to one of \(ParserFuzzing.allCases.map(\.rawValue))")
            exit(2)
        }
        target = chosen
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        exit(runFuzzerDriver(&argc, &argv) { bytes, count in
            target.run(bytes.map { Data(bytes: $0, count: count) } ?? Data())
            return 0
        })
    }
}
#else
@main
enum FuzzReplay {
    static func main() {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = ParserFuzzing(rawValue: name) else {
            print("usage: fuzz-parsers \(ParserFuzzing.allCases.map(\.rawValue).joined(separator: "|")) FILE…  (make fuzz runs the fuzzer)")
            exit(2)
        }
        for path in arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { print("\(path): cannot be read"); exit(1) }
            print("\(path): \(target.run(data) ? "accepted" : "refused with an error")")
        }
    }
}
#endif
