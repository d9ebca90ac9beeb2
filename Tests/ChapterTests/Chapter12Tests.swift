// Chapter 12 run as a learner would: every section on a stand-in model, the real server started and asked.

import Foundation
import Testing

@Suite("Chapter 12", .serialized)
struct Chapter12Tests {
    @Test("ch12 --quick starts llm serve, shows the wire format, measures batching and backpressure")
    func quickRun() throws {
        let (result, runs, _) = try runQuickChapter("ch12")
        expectSections(result, ["12.1 The request path", "12.2 Batching decode steps: throughput against latency",
                                "12.3 Backpressure", "12.4 What a production server adds"])
        #expect(result.stdout.contains("data: [DONE]") && result.stdout.contains("\"finish_reason\":null"))
        #expect(result.stdout.contains("temperature must be between"), "an error in OpenAI's shape")
        #expect(result.stdout.contains("refused") && result.stdout.contains("stopped by caller"))
        expectFiles(runs, ["12-serving/throughput.gp", "12-serving/time-to-first-token.gp",
                           "12-serving/stand-in/model.safetensors"])
        let bad = try runProduct("ch12", ["--quick", "--run-dir", runs.path, "--threads", "0"])
        #expect(bad.status != 0 && bad.stderr.contains("--threads"))
    }
}
