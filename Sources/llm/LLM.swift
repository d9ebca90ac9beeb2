// The practitioner's command line: the same core as the chapters, without the story.
// Subcommands grow chapter by chapter: `llm bench`, `llm tokenizer`, `llm checkpoint`, `llm train`,
// `llm generate`, `llm sft`, `llm chat`, `llm lora`, `llm quantize`, `llm rag`, `llm eval`, `llm serve`.

import ArgumentParser
import ChapterSupport
import Foundation
import LLMCore

@main
struct LLM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "llm",
        abstract: "An LLM built from scratch in Swift: the course's core as a command line.",
        version: LLMCore.version,
        subcommands: [BenchCommand.self, TokenizerCommand.self, CheckpointCommand.self,
                      TrainCommand.self, GenerateCommand.self, ChatCommand.self,
                      SFTCommand.self, LoRACommand.self, QuantizeCommand.self, RAGCommand.self, EvalCommand.self,
                      ServeCommand.self])

    static func main() { Foundation.exit(Chapter.main(Self.self)) }
}
