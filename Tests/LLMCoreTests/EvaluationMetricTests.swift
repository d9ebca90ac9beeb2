// Chapter 10's metrics: each with a value worked out by hand in the comment beside it, and, optionally,
// the same figures from sacrebleu and rouge-score on the shipped English and Chinese pairs.

import Foundation
import Testing
@testable import LLMCore

@Suite("Evaluation metrics")
struct EvaluationMetricTests {
    @Test("SQuAD exact match and token F1, with CJK characters as tokens")
    func answers() {
        #expect(AnswerMetrics.normalized("The  Eiffel Tower!") == "eiffel tower")
        #expect(AnswerMetrics.exactMatch("the Eiffel tower.", "Eiffel Tower") == 1)
        #expect(AnswerMetrics.exactMatch("Eiffel", "Eiffel Tower") == 0)
        // shared {eiffel, tower}: P = 2/2, R = 2/4 → F1 = 2·1·0.5 / 1.5 = 2/3
        #expect(abs(AnswerMetrics.tokenF1("The Eiffel tower!", "eiffel tower in Paris") - 2.0 / 3) < 1e-12)
        // multisets: "a a b" (articles go: "b"... so use words) — "x x y" vs "x y y": shared x, y → 2/3 each
        #expect(abs(AnswerMetrics.tokenF1("x x y", "x y y") - 2.0 / 3) < 1e-12)
        // 巴 黎 铁 塔 vs 铁 塔: P = 2/4, R = 2/2 → 2/3; the 。 is dropped
        #expect(abs(AnswerMetrics.tokenF1("巴黎铁塔。", "铁塔") - 2.0 / 3) < 1e-12)
        #expect(AnswerMetrics.tokenF1("", "") == 1 && AnswerMetrics.tokenF1("the", "Paris") == 0)
        // the best of several references counts
        #expect(AnswerMetrics.tokenF1("Paris", ["London", "paris"]) == 1)
        // code points, as Python: a precomposed é is not e + U+0301
        #expect(AnswerMetrics.exactMatch("caf\u{E9}", "cafe\u{301}") == 0)
    }

    @Test("13a and zh tokenization, sacrebleu's rules (and its Chinese-range quirk)")
    func tokenizers() {
        #expect(BLEUTokenizer.thirteenA("It costs $3.14, or 1,000 yen -- cheap!")
                == "It costs $ 3.14 , or 1,000 yen -- cheap !")
        #expect(BLEUTokenizer.thirteenA("A \"quote\" &amp; 20-year-old") == "A \" quote \" & 20 - year-old")
        #expect(BLEUTokenizer.zh("春眠不觉晓，处处") == "春 眠 不 觉 晓 ， 处 处")
        // — (U+2014) counts as "Chinese" in sacrebleu, 𠀀 (U+20000) does not: see BLEU.swift
        #expect(BLEUTokenizer.zh("a—b 𠀀x") == "a — b 𠀀x")
    }

    @Test("corpus BLEU by hand: clipping, exponential smoothing, brevity penalty")
    func bleu() throws {
        // the cat sat on the mat | the cat is on the mat: 1-grams 5/6, 2-grams 3/5, 3-grams 1/4, 4-grams 0/3
        // → smoothed 1/(2·3); BLEU = (83.33 · 60 · 25 · 16.67)^¼ = 37.99, BP 1 (6 tokens each)
        let s = try BLEU.corpus(["the cat sat on the mat"], references: [["the cat is on the mat"]])
        #expect(s.correct == [5, 3, 1, 0] && s.total == [6, 5, 4, 3])
        #expect(abs(s.score - pow(100.0 * 5 / 6 * 60 * 25 * 100 / 6, 0.25)) < 1e-9)
        #expect(s.description == "BLEU = 37.99 83.3/60.0/25.0/16.7 (BP = 1.000 ratio = 1.000 hyp_len = 6 ref_len = 6)")
        #expect(s.signature == "nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:llm-course")
        // "the" four times against one "the": clipped to 1 of 4
        let clipped = try BLEU.corpus(["the the the the"], references: [["the cat"]])
        #expect(clipped.correct[0] == 1 && clipped.total[0] == 4)
        // 2 tokens against 4: BP = exp(1 − 4/2) = e^−1
        let short = try BLEU.corpus(["a b"], references: [["a b c d"]])
        #expect(abs(short.brevityPenalty - exp(-1)) < 1e-12)
        // no smoothing: a missing order makes BLEU 0; the closest of two references sets r
        #expect(try BLEU.corpus(["a b"], references: [["a b c d"]], smoothing: .none).score == 0)
        #expect(try BLEU.corpus(["a b c"], references: [["a b c d e", "a b"]]).referenceLength == 2)
        #expect(throws: CourseError.self) { try BLEU.corpus(["a"], references: []) }
        #expect(throws: CourseError.self) { try BLEU.corpus(["a"], references: [[]]) }
    }

    @Test("chrF by hand: effective orders, β = 2")
    func chrf() throws {
        #expect(try CHRF.corpus(["ab"], references: [["ab"]]).score == 100)
        // ab | ac: 1-grams P = R = 1/2, 2-grams P = R = 0, no 3…6-grams: P = R = 1/4 → F = 25
        #expect(abs(try CHRF.corpus(["ab"], references: [["ac"]]).score - 25) < 1e-12)
        // white space does not count: "a b" is "ab"
        #expect(try CHRF.corpus(["a b"], references: [["ab"]]).score == 100)
    }

    @Test("ROUGE-1/2/L by hand, and the Chinese tokenization rouge-score lacks")
    func rouge() {
        // the cat sat | the cat is on: shared 1-grams 2 → P 2/3, R 2/4; 2-grams 1 → P 1/2, R 1/3; LCS 2
        let one = ROUGE.n(1, prediction: "The cat sat.", reference: "the cat is on")
        #expect(abs(one.precision - 2.0 / 3) < 1e-12 && abs(one.recall - 0.5) < 1e-12)
        #expect(abs(one.f - 2 * (2.0 / 3) * 0.5 / (2.0 / 3 + 0.5)) < 1e-12)
        let two = ROUGE.n(2, prediction: "The cat sat.", reference: "the cat is on")
        #expect(abs(two.precision - 0.5) < 1e-12 && abs(two.recall - 1.0 / 3) < 1e-12)
        // LCS of (a b c d) and (a c b d) is 3
        #expect(abs(ROUGE.l(prediction: "a b c d", reference: "a c b d").f - 0.75) < 1e-12)
        // English tokens: nothing left of a Chinese pair
        #expect(ROUGE.n(1, prediction: "床前明月光", reference: "床前明月光") == .zero)
        #expect(ROUGE.n(1, prediction: "床前明月光", reference: "床前明月光", tokenization: .chinese).f == 1)
    }

    @Test("ECE over 15 bins, reliability bins, accuracy–coverage, bootstrap intervals")
    func calibration() throws {
        // 0.9, 0.9 (one right) in bin 14 of 15: |0.5 − 0.9| · 2/4;
        // 0.6, 0.6 (both right) in bin 9: |1 − 0.6| · 2/4
        let ece = try Calibration.expectedCalibrationError(confidences: [0.9, 0.9, 0.6, 0.6],
                                                           correct: [true, false, true, true])
        #expect(abs(ece - 0.4) < 1e-12)
        let bins = try Calibration.reliability(confidences: [0.9, 0.6, 0, 1], correct: [true, true, false, true])
        #expect(bins.count == 15 && bins[13].count == 1 && bins[8].count == 1)
        #expect(bins[0].count == 1 && bins[14].count == 1)
        #expect(throws: CourseError.self) { try Calibration.reliability(confidences: [1.5], correct: [true]) }
        let curve = Calibration.accuracyCoverage(confidences: [0.2, 0.9, 0.5], correct: [false, true, false])
        #expect(curve.map(\.accuracy) == [1, 0.5, 1.0 / 3])
        // constant scores: no spread; a fair coin over 400 items: the interval holds 0.5 and is about ±0.05
        #expect(Bootstrap.mean([1, 1, 1]).lower == 1)
        let coin = Bootstrap.mean((0..<400).map { Double($0 % 2) }, seed: 3)
        #expect(coin.lower < 0.5 && coin.upper > 0.5)
        #expect(coin.upper - coin.lower > 0.07 && coin.upper - coin.lower < 0.13)
        #expect(Bootstrap.percentile([1, 2, 3, 4], 0.5) == 2.5)
    }
}

@Suite("Evaluation metrics against sacrebleu and rouge-score")
struct TextMetricOracleTests {
    struct Pairs: Decodable { let english: [[String]], chinese: [[String]] }
    struct Oracle: Decodable {
        let tok13a: [String], tokzh: [String]
        let bleu: Double, bleu_counts: [Int], bleu_totals: [Int], sys_len: Int, ref_len: Int
        let bleu_signature: String, chrf: Double, chrf_signature: String
        let rouge: [[String: [Double]]], rouge1_default_tokenizer: [Double]
    }

    @Test("BLEU, chrF and ROUGE equal the Python tools' on English and Chinese pairs (skips without them)")
    func sameFigures() throws {
        let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures")
        let file = fixtures.appendingPathComponent("eval_pairs.json")
        guard let out = try runPythonFixture("text_metrics_oracle.py", [file.path], needs: "sacrebleu and rouge-score")
        else { return }
        let oracle = try JSONDecoder().decode([String: Oracle].self, from: out)
        let pairs = try JSONDecoder().decode(Pairs.self, from: Data(contentsOf: file))
        for (language, list) in [("english", pairs.english), ("chinese", pairs.chinese)] {
            let o = try #require(oracle[language])
            let strings = list.flatMap { $0 }
            let strip = { (s: String) in TextSegments.pythonStrip(s, leading: false) }
            #expect(strings.map { BLEUTokenizer.thirteenA(strip($0)) } == o.tok13a, "\(language) 13a")
            #expect(strings.map { BLEUTokenizer.zh(strip($0)) } == o.tokzh, "\(language) zh")
            let hypotheses = list.map { $0[0] }, references = list.map { [$0[1]] }
            let bleu = try BLEU.corpus(hypotheses, references: references,
                                       tokenizer: language == "english" ? .thirteenA : .zh)
            #expect(abs(bleu.score - o.bleu) < 1e-6, "\(language) BLEU \(bleu.score) vs \(o.bleu)")
            #expect(bleu.correct == o.bleu_counts && bleu.total == o.bleu_totals)
            #expect(bleu.hypothesisLength == o.sys_len && bleu.referenceLength == o.ref_len)
            let withoutVersion = { (s: String) in s.split(separator: "|").dropLast().joined(separator: "|") }
            #expect(withoutVersion(bleu.signature) == withoutVersion(o.bleu_signature))
            let chrf = try CHRF.corpus(hypotheses, references: references)
            #expect(abs(chrf.score - o.chrf) < 1e-6, "\(language) chrF \(chrf.score) vs \(o.chrf)")
            #expect(withoutVersion(chrf.signature) == withoutVersion(o.chrf_signature))
            let tokenization: ROUGE.Tokenization = language == "english" ? .english : .chinese
            for (pair, expected) in zip(list, o.rouge) {
                let ours = ["rouge1": ROUGE.n(1, prediction: pair[0], reference: pair[1], tokenization: tokenization),
                            "rouge2": ROUGE.n(2, prediction: pair[0], reference: pair[1], tokenization: tokenization),
                            "rougeL": ROUGE.l(prediction: pair[0], reference: pair[1], tokenization: tokenization)]
                for (name, score) in ours {
                    let e = try #require(expected[name])
                    #expect(abs(score.precision - e[0]) < 1e-6 && abs(score.recall - e[1]) < 1e-6
                            && abs(score.f - e[2]) < 1e-6, "\(language) \(name) of \(pair)")
                }
            }
            // rouge-score's own tokenizer on Chinese: everything dropped, every score 0 — ours agrees.
            let defaults = list.map { ROUGE.n(1, prediction: $0[0], reference: $0[1]).f }
            #expect(zip(defaults, o.rouge1_default_tokenizer).allSatisfy { abs($0 - $1) < 1e-6 })
        }
    }
}

@Suite("Classification, fairness and robustness measurements")
struct GroupMetricTests {
    @Test("precision, recall, macro and micro by hand, and equal to scikit-learn's (skips without it)")
    func precisionRecall() throws {
        // confusion (true × predicted): class 0: 2 right, 1 → 1; class 1: 1 → 0, 1 right; class 2: 1 → 0
        let r = try ClassificationReport(predictions: [0, 0, 1, 1, 0, 0], labels: [0, 0, 0, 1, 1, 2], classes: 3)
        #expect(r.precision[0] == 0.5 && r.precision[1] == 0.5 && r.precision[2] == 0)   // 2/4, 1/2, none
        #expect(abs(r.recall[0]! - 2.0 / 3) < 1e-12 && r.recall[1] == 0.5 && r.recall[2] == 0)
        #expect(abs(r.macroPrecision - 1.0 / 3) < 1e-12 && r.microF1 == 0.5)
        #expect(try ClassificationReport(predictions: [0], labels: [0], classes: 3).precision == [1, nil, nil])
        var g = SeededGenerator(seed: 9)
        let labels = (0..<200).map { _ in Int(g.next() % 4) }
        let predictions = labels.map { g.next() % 3 == 0 ? Int(g.next() % 5) : $0 }       // some class 4: never true
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("cls-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: input) }
        try JSONSerialization.data(withJSONObject: ["labels": labels, "predictions": predictions, "classes": 5])
            .write(to: input)
        guard let out = try runPythonFixture("classification_oracle.py", [input.path], needs: "scikit-learn")
        else { return }
        struct Oracle: Decodable { let precision, recall, f1, macro: [Double]; let micro_f1, accuracy: Double }
        let o = try JSONDecoder().decode(Oracle.self, from: out)
        let ours = try ClassificationReport(predictions: predictions, labels: labels, classes: 5)
        for c in 0..<5 {
            #expect(abs((ours.precision[c] ?? 0) - o.precision[c]) < 1e-12, "precision of class \(c)")
            #expect(abs((ours.recall[c] ?? 0) - o.recall[c]) < 1e-12, "recall of class \(c)")
            #expect(abs((ours.f1[c] ?? 0) - o.f1[c]) < 1e-12, "F1 of class \(c)")
        }
        #expect(abs(ours.macroPrecision - o.macro[0]) < 1e-12 && abs(ours.macroRecall - o.macro[1]) < 1e-12)
        #expect(abs(ours.macroF1 - o.macro[2]) < 1e-12)
        #expect(abs(ours.microF1 - o.micro_f1) < 1e-12 && abs(ours.accuracy - o.accuracy) < 1e-12)
    }

    @Test("per-group accuracy, demographic-parity and equalized-odds differences by hand")
    func fairness() throws {
        // group en: labels 1 1 0 0, predictions 1 0 0 0 → selection of 1: 1/4, TPR 1/2, FPR 0, accuracy 3/4
        // group zh: labels 1 1 0 0, predictions 1 1 1 0 → selection of 1: 3/4, TPR 1,   FPR 1/2, accuracy 3/4
        // class 1: DP 1/2, EO max(1/2, 1/2); class 0 (one-vs-rest) gives the same spreads
        let report = try FairnessReport(predictions: [1, 0, 0, 0, 1, 1, 1, 0], labels: [1, 1, 0, 0, 1, 1, 0, 0],
                                        groups: ["en", "en", "en", "en", "zh", "zh", "zh", "zh"], classes: 2)
        #expect(report.groups.map(\.group) == ["en", "zh"] && report.groups.map(\.accuracy) == [0.75, 0.75])
        #expect(report.demographicParityDifference == 0.5 && report.equalizedOddsDifference == 0.5)
        // the same behaviour in both groups: 0 and 0, whatever the accuracy
        let fair = try FairnessReport(predictions: [1, 0, 1, 0], labels: [1, 1, 1, 1], groups: ["a", "a", "b", "b"],
                                      classes: 2)
        #expect(fair.demographicParityDifference == 0 && fair.equalizedOddsDifference == 0)
        #expect(throws: CourseError.self) {
            try FairnessReport(predictions: [1], labels: [1], groups: [], classes: 2)
        }
    }

    @Test("perturbations keep what a reader needs and are repeatable; the drop rate")
    func perturbations() {
        let text = "Never put off till tomorrow, what you can do today."
        let typos = Perturbation.typos.apply(text, seed: 1, typoRate: 1)
        #expect(typos != text && typos.count == text.count)
        #expect(typos == Perturbation.typos.apply(text, seed: 1, typoRate: 1))
        // every word of 4+ letters keeps its first and last letters and its letters
        for (a, b) in zip(text.split(separator: " "), typos.split(separator: " ")) {
            #expect(a.first == b.first && a.last == b.last && a.sorted() == b.sorted())
        }
        #expect(Perturbation.typos.apply("a an the cat", seed: 1, typoRate: 1) == "a an the cat")   // too short
        #expect(Perturbation.upperCase.apply("abc 春") == "ABC 春")
        #expect(Perturbation.whitespace.apply("a b") == " a  b ")
        #expect(Perturbation.punctuation.apply("Hi, there! 春眠，不覺曉。")
                == "Hi there 春眠不覺曉")
        #expect(Perturbation.simplified.apply("春眠不覺曉，處處聞啼鳥。")
                == "春眠不觉晓，处处闻啼鸟。")
        // the table is traditional → simplified: no simplified character is itself converted
        #expect(Perturbation.simplifiedOf.values.allSatisfy { Perturbation.simplifiedOf[$0] == nil })
        #expect(Perturbation.dropRate(clean: 1, perturbed: 0.75) == 0.25)
        #expect(Perturbation.dropRate(clean: 0, perturbed: 0).isNaN)
    }
}

@Suite("Blind side-by-side comparison")
struct BlindComparisonTests {
    @Test("the sheet hides which model is which; filled verdicts read back into wins, ties and a win rate")
    func roundTrip() throws {
        let prompts = (1...8).map { "prompt \($0)" }
        let (sheet, key) = try BlindComparison.sheet(prompts: prompts, answersA: prompts.map { "A says \($0)" },
                                                     answersB: prompts.map { "B says \($0)" },
                                                     names: ("base", "sft"), seed: 4)
        #expect(!sheet.contains("base") && !sheet.contains("sft"))
        #expect(key.aFirst.contains(true) && key.aFirst.contains(false), "both orders occur")
        // A rater who always prefers B's answer, except a tie on item 1: wherever B is, it wins.
        var filled: [String] = [], item = 0, bFirst = false
        for line in sheet.split(separator: "\n", omittingEmptySubsequences: false) {
            if line.hasPrefix("## Item ") { bFirst = !key.aFirst[item]; item += 1 }
            if line.hasPrefix("Verdict:") {
                filled.append(item == 1 ? "Verdict: =" : "Verdict: \(bFirst ? 1 : 2)")
            } else {
                filled.append(String(line))
            }
        }
        let result = try BlindComparison.read(filled.joined(separator: "\n"), key: key)
        #expect(result.winsA == 0 && result.winsB == 7 && result.ties == 1)
        #expect(result.winRateA.value == 0.5 / 8 && result.winRateA.upper < 0.5)
        // an unfilled sheet names the first empty verdict; a sheet cut short is refused
        #expect(throws: CourseError.self) { try BlindComparison.read(sheet, key: key) }
        do { _ = try BlindComparison.read(sheet, key: key) } catch {
            #expect("\(error)".contains("item 1") && "\(error)".contains("(empty)"), "\(error)")
        }
        let cut = filled.prefix { !$0.hasPrefix("## Item 8") }.joined(separator: "\n")
        #expect(throws: CourseError.self) { try BlindComparison.read(cut, key: key) }
        #expect(throws: CourseError.self) {
            try BlindComparison.sheet(prompts: ["p"], answersA: [], answersB: ["b"], names: ("a", "b"))
        }
        // `filled` writes the same verdicts a pen would: it reads back to the same result as the hand-filled sheet.
        let verdicts = (0..<8).map { $0 == 0 ? 0 : (key.aFirst[$0] ? 2 : 1) }
        let scripted = try BlindComparison.filled(sheet, verdicts: verdicts)
        #expect(try BlindComparison.read(scripted, key: key) == result)
        #expect(scripted == filled.joined(separator: "\n"))
        #expect(throws: CourseError.self) { try BlindComparison.filled(sheet, verdicts: [1, 2]) }
        #expect(throws: CourseError.self) { try BlindComparison.filled(sheet, verdicts: [Int](repeating: 3, count: 8)) }
    }
}

@Suite("Report card")
struct ReportCardTests {
    @Test("rows with intervals and item counts, '—' where a figure does not apply, missing models with commands")
    func markdownAndJSON() throws {
        var card = ReportCard()
        card.addColumn("bits/byte", note: "held-out fortunes; lower is better", digits: 3)
        card.addColumn("topic EM", note: "Chapter 05 held-out requests", digits: 2)
        let interval = Bootstrap.Interval(value: 1.5, lower: 1.4, upper: 1.6)
        try card.add(model: "base", figures: ["bits/byte": .init(interval, items: 900)])
        try card.add(model: "chat", figures: ["bits/byte": .init(interval, items: 900),
                                              "topic EM": .init(.init(value: 0.5, lower: 0.4, upper: 0.6), items: 200)])
        card.addMissing(model: "int4", command: "swift run -c release ch07")
        #expect(throws: CourseError.self) { try card.add(model: "x", figures: ["unknown": .init(interval, items: 1)]) }
        let text = card.markdown(title: "Report card")
        #expect(text.contains("| base | 1.500 [1.400, 1.600] | — |"))
        #expect(text.contains("| chat | 1.500 [1.400, 1.600] | 0.50 [0.40, 0.60] |"))
        #expect(text.contains("**bits/byte** (n = 900)") && text.contains("**topic EM** (n = 200)"))
        #expect(text.contains("- int4: make it with `swift run -c release ch07`") && !text.contains("| int4 |"))
        #expect(try ReportCard.read(json: try card.json()) == card)
        let pictured = card.markdown(title: "Report card", images: [("bits per byte", "bits-per-byte.png")])
        #expect(pictured.contains("intervals over the test items.\n\n![bits per byte](bits-per-byte.png)\n"))
        #expect(!text.contains("!["))
        // an interval over no items is NaN, and survives the JSON round trip as "nan"
        try card.add(model: "empty", figures: ["topic EM": .init(Bootstrap.mean([]), items: 0)])
        let back = try ReportCard.read(json: try card.json())
        #expect(back.rows.last?.figures["topic EM"]?.interval.value.isNaN == true)
    }
}

@Suite("A classifier measured")
struct ClassifierEvaluationTests {
    /// A stand-in classifier: class 1 if the text contains "star", else 0; confident (0.9) in upper case
    /// only when the text has no "!" — so punctuation and case perturbations change its answers.
    static func classify(_ texts: [String]) -> [[Float]] {
        texts.map { text in
            let one = text.contains("star")
            let p: Float = text.contains("!") ? 0.6 : 0.9
            return one ? [1 - p, p] : [p, 1 - p]
        }
    }

    @Test("accuracy and macro-F1 with intervals, ECE, fairness and the drop under each perturbation")
    func measured() throws {
        let items = [("star trek", 1, "a"), ("a star!", 1, "a"), ("food", 0, "b"), ("law!", 0, "b"),
                     ("stars", 1, "b"), ("more food", 1, "a")]
            .map { ClassifierEvaluation.Item(text: $0.0, label: $0.1, group: $0.2) }
        let e = try ClassifierEvaluation.run(Self.classify, items: items, classes: 2, resamples: 200)
        // 5 of 6 right ("more food" is wrong); majority class 1 (4 of 6)
        #expect(abs(e.accuracy.value - 5.0 / 6) < 1e-12 && abs(e.majorityAccuracy - 4.0 / 6) < 1e-12)
        #expect(e.accuracy.lower <= e.accuracy.value && e.accuracy.value <= e.accuracy.upper)
        // confidences 0.9 ×4 (3 right), 0.6 ×2 (both right): |0.75 − 0.9|·4/6 + |1 − 0.6|·2/6 = 0.1 + 0.1333
        // (the classifier's probabilities are Float: 0.9 is 0.89999998)
        let (high, low) = (Double(Float(0.9)), Double(Float(0.6)))
        #expect(abs(e.expectedCalibrationError.value - (abs(0.75 - high) * 4 / 6 + abs(1 - low) * 2 / 6)) < 1e-12)
        // upper case hides "star": every class-1 item but none of class 0 changes → accuracy 2/6
        let upper = try #require(e.robustness.first { $0.perturbation == .upperCase })
        #expect(abs(upper.accuracy - 2.0 / 6) < 1e-12)
        #expect(abs(upper.dropRate - (5.0 / 6 - 2.0 / 6) / (5.0 / 6)) < 1e-12)
        #expect(e.robustness.first { $0.perturbation == .whitespace }?.dropRate == 0)
        #expect(e.fairness.groups.map(\.group) == ["a", "b"])
        #expect(throws: CourseError.self) {
            try ClassifierEvaluation.run({ _ in [[1]] }, items: items, classes: 2)
        }
    }
}
