// swift-tools-version: 6.0
// An LLM from scratch in Swift, one chapter at a time. See README.md and DESIGN.md.
import PackageDescription

// Hot loops want the machine's own vector unit (AVX2/FMA here). Release builds only: a learner builds
// this package on their own machine, so `native` means theirs. See DESIGN.md, "Speed is part of the lesson".
// Debug builds (what `make test` uses) still optimise the core with -O (checks kept): the tests and the
// chapters' --quick smoke runs would otherwise spend minutes in unoptimised kernels.
let fast: [SwiftSetting] = [
    .unsafeFlags(["-Ounchecked", "-Xcc", "-march=native", "-target-cpu", "native"],
                 .when(platforms: [.linux], configuration: .release)),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
]

let package = Package(
    name: "llm-course",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "llm", targets: ["llm"]),
        .executable(name: "ch00", targets: ["Ch00Tensors"]),
        .executable(name: "ch01", targets: ["Ch01Tokenizer"]),
        .executable(name: "ch02", targets: ["Ch02Attention"]),
        .executable(name: "ch03", targets: ["Ch03Transformer"]),
        .executable(name: "ch04", targets: ["Ch04Pretraining"]),
        .executable(name: "ch08", targets: ["Ch08Sampling"]),
        .executable(name: "exercises", targets: ["ExerciseScoreboard"]),
        .executable(name: "book", targets: ["book"]),
        .library(name: "LLMCore", targets: ["LLMCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // MARK: System libraries and the C++ bridge
        .systemLibrary(
            name: "CBLAS", path: "Sources/CBLAS",
            providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
        .target(
            name: "GnuplotBridge", path: "Sources/GnuplotBridge",
            cxxSettings: [.unsafeFlags(["-std=c++17"])],
            linkerSettings: [.linkedLibrary("boost_iostreams"), .linkedLibrary("boost_system"),
                             .linkedLibrary("boost_filesystem"), .linkedLibrary("stdc++")]),

        // MARK: The core and what the chapters share
        .target(name: "LLMCore", dependencies: ["CBLAS", "GnuplotBridge"], swiftSettings: fast),
        .target(
            name: "ChapterSupport",
            dependencies: ["LLMCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: Chapters (one executable each: the lesson itself)
        .executableTarget(name: "Ch00Tensors", dependencies: ["LLMCore", "ChapterSupport"],
                          path: "Chapters/00-Tensors"),
        .executableTarget(name: "Ch01Tokenizer", dependencies: ["LLMCore", "ChapterSupport"],
                          path: "Chapters/01-Tokenizer"),
        .executableTarget(name: "Ch02Attention", dependencies: ["LLMCore", "ChapterSupport"],
                          path: "Chapters/02-Attention"),
        .executableTarget(name: "Ch03Transformer", dependencies: ["LLMCore", "ChapterSupport"],
                          path: "Chapters/03-Transformer"),
        .executableTarget(name: "Ch04Pretraining", dependencies: ["LLMCore", "ChapterSupport"],
                          path: "Chapters/04-Pretraining"),
        .executableTarget(name: "Ch08Sampling", dependencies: ["LLMCore", "ChapterSupport"],
                          path: "Chapters/08-Sampling"),

        // MARK: The practitioner's command line
        .executableTarget(
            name: "llm",
            dependencies: ["LLMCore", "ChapterSupport",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: make fuzz: libFuzzer over the file parsers (a replayer when built without -D FUZZING)
        .executableTarget(name: "fuzz-parsers", dependencies: ["LLMCore"], path: "Fuzz", exclude: ["seeds"]),

        // MARK: The course book: docs/chapters/ from the chapter sources and their runs (make docs)
        .target(name: "BookKit"),
        .executableTarget(name: "book", dependencies: ["BookKit", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: Exercises: stubs the student edits, reference solutions, the shared checks, a scoreboard
        .target(name: "ExerciseKit", dependencies: ["LLMCore"], path: "Exercises/Kit"),
        .target(name: "Exercises", dependencies: ["LLMCore", "ExerciseKit"], path: "Exercises/Stubs"),
        .target(name: "ExerciseSolutions", dependencies: ["LLMCore", "ExerciseKit"], path: "Exercises/Solutions"),
        .executableTarget(name: "ExerciseScoreboard", dependencies: ["ExerciseKit", "Exercises"],
                          path: "Exercises/Scoreboard"),

        // MARK: Tests
        .testTarget(name: "LLMCoreTests", dependencies: ["LLMCore"]),
        .testTarget(name: "ChapterTests", dependencies: ["LLMCore", "ChapterSupport", "Ch00Tensors", "Ch01Tokenizer", "Ch02Attention", "Ch03Transformer", "Ch04Pretraining", "Ch08Sampling", "llm"]),
        .testTarget(name: "BookTests", dependencies: ["BookKit"]),
        .testTarget(name: "ExerciseTests", dependencies: ["ExerciseKit", "Exercises", "ExerciseSolutions"]),
    ]
)
