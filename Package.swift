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

/// The course's chapters in order, (number, name): folder Chapters/NN-Name, executable chNN, target ChNNName.
/// The one list: the Makefile's course order and the book read the Chapters/ folders, and
/// Tests/ChapterTests/ChapterListTests.swift fails when this list, the folders, the Makefile, the smoke
/// tests or the README disagree.
let chapters = [("00", "Tensors"), ("01", "Tokenizer"), ("02", "Attention"), ("03", "Transformer"),
                ("04", "Pretraining"), ("05", "SFT"), ("06", "LoRA"), ("07", "Quantization"), ("08", "Sampling"),
                ("09", "RAG"), ("10", "Evaluation"), ("12", "Serving")]
let chapterTargets = chapters.map { "Ch\($0.0)\($0.1)" }

let package = Package(
    name: "llm-course",
    platforms: [.macOS(.v14)],
    products: chapters.map { Product.executable(name: "ch\($0.0)", targets: ["Ch\($0.0)\($0.1)"]) } + [
        .executable(name: "llm", targets: ["llm"]),
        .executable(name: "exercises", targets: ["ExerciseScoreboard"]),
        .executable(name: "book", targets: ["book"]),
        .library(name: "LLMCore", targets: ["LLMCore"]),
        .library(name: "LLMPlot", targets: ["LLMPlot"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Chapter 09's retrieval store: SQLite (FTS5, BLOB vectors, transactions) through GRDB.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        // Chapter 12's server (`llm serve`): HTTP/1.1 on SwiftNIO, streaming bodies for server-sent events.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
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

        .target(name: "CStdout", path: "Sources/CStdout"),

        // MARK: The core (what a practitioner's program imports), plots and benchmarks beside it
        // LLMCore links OpenBLAS only: a program that trains or generates pulls in neither gnuplot nor Boost.
        .target(name: "LLMCore", dependencies: ["CBLAS", "CStdout"], swiftSettings: fast),
        .target(name: "LLMPlot", dependencies: ["LLMCore", "GnuplotBridge"], swiftSettings: fast),
        .target(name: "LLMBench", dependencies: ["LLMCore", "CBLAS"], swiftSettings: fast),
        // The retrieval store of Chapter 09 (SQLite through GRDB), apart from the core: a program that only
        // trains or generates does not link SQLite.
        .target(name: "LLMRetrieval", dependencies: ["LLMCore", .product(name: "GRDB", package: "GRDB.swift")],
                swiftSettings: fast),
        // The server of Chapter 12 (Hummingbird), apart from the core: a program that trains or generates
        // does not link an HTTP stack.
        .target(name: "LLMServer", dependencies: ["LLMCore", .product(name: "Hummingbird", package: "hummingbird")],
                swiftSettings: fast),
        .target(
            name: "ChapterSupport",
            dependencies: ["LLMCore", "LLMPlot", .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // MARK: Chapters (one executable each: the lesson itself)
    ] + chapters.map { number, name in
        .executableTarget(name: "Ch\(number)\(name)",
                          dependencies: ["LLMCore", "LLMPlot", "LLMBench", "LLMRetrieval", "ChapterSupport"],
                          path: "Chapters/\(number)-\(name)")
    } + [
        // MARK: The practitioner's command line
        .executableTarget(
            name: "llm",
            dependencies: ["LLMCore", "LLMBench", "LLMPlot", "LLMRetrieval", "LLMServer", "ChapterSupport",
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
        .testTarget(name: "LLMCoreTests", dependencies: ["LLMCore", "LLMPlot", "LLMBench", "LLMRetrieval"]),
        .testTarget(name: "ChapterTests", dependencies: ["LLMCore", "ChapterSupport", "LLMServer", "llm"]
                    + chapterTargets.map { .init(stringLiteral: $0) }),
        .testTarget(name: "BookTests", dependencies: ["BookKit"]),
        .testTarget(name: "ExerciseTests", dependencies: ["ExerciseKit", "Exercises", "ExerciseSolutions"]),
    ]
)
