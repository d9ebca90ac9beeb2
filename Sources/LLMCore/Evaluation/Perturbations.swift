// Introduced in Chapter 10. Robustness as a measurement: perturb the test inputs in ways that do not change
// what a reader would answer, score the model again, and report the drop
//
//     drop rate = (score on clean inputs − score on perturbed inputs) / score on clean inputs
//
// The perturbations (each seeded, so a run is repeatable):
// - typos: in a fraction of the words of 4+ letters, two neighbouring inner letters swap ("sentence" →
//   "setnence"); readers barely notice, byte-level tokens change completely;
// - case: every letter upper-cased;
// - whitespace: every space doubled and a space added at both ends;
// - punctuation: ASCII and Chinese punctuation removed;
// - script: traditional Chinese characters written in simplified ones (the fortunes-zh poems are in
//   traditional characters; a reader of either script reads both), from a table of common characters.

import Foundation

public enum Perturbation: String, Sendable, CaseIterable, Codable {
    case typos, upperCase = "upper-case", whitespace, punctuation, simplified

    public func apply(_ text: String, seed: UInt64 = 0, typoRate: Double = 0.3) -> String {
        switch self {
        case .upperCase: return text.uppercased()
        case .whitespace: return " " + text.replacingOccurrences(of: " ", with: "  ") + " "
        case .punctuation:
            return String(String.UnicodeScalarView(text.unicodeScalars.filter {
                !AnswerMetrics.asciiPunctuation.contains($0) && !AnswerMetrics.chinesePunctuation.contains($0)
            }))
        case .simplified:
            return String(String.UnicodeScalarView(text.unicodeScalars.map { Self.simplifiedOf[$0] ?? $0 }))
        case .typos:
            var random = SeededGenerator(seed: seed)
            var characters = Array(text)
            var start = 0
            while start < characters.count {
                guard characters[start].isLetter else { start += 1; continue }
                var end = start
                while end < characters.count && characters[end].isLetter { end += 1 }
                // a word characters[start..<end]: swap two inner neighbours (first and last letters stay)
                if end - start >= 4 && Double(random.next() % 1_000_000) / 1_000_000 < typoRate {
                    let i = start + 1 + Int(random.next() % UInt64(end - start - 3))
                    characters.swapAt(i, i + 1)
                }
                start = end
            }
            return String(characters)
        }
    }

    /// (score clean − score perturbed) / score clean; NaN when the clean score is 0.
    public static func dropRate(clean: Double, perturbed: Double) -> Double {
        clean == 0 ? .nan : (clean - perturbed) / clean
    }

    /// Traditional → simplified for common characters (each pair: traditional first).
    static let pairs =
        "們们這这個个來来時时說说國国學学會会對对過过還还發发開开長长問问"
        + "間间關关見见東东車车馬马鳥鸟魚鱼門门風风飛飞書书畫画語语話话詩诗"
        + "詞词龍龙樂乐雲云無无與与萬万歲岁葉叶聲声寫写舊旧親亲愛爱憶忆歸归"
        + "鄉乡楊杨陽阳雙双難难應应變变經经紅红綠绿線线雞鸡樹树橋桥歡欢鏡镜"
        + "錢钱鐘钟頭头顏颜題题體体髮发黃黄齊齐滿满漢汉淚泪燈灯爲为爭争獨独"
        + "現现電电盡尽眾众禮礼窮穷筆笔節节簡简練练總总聽听興兴舉举華华莊庄"
        + "蘭兰處处號号蟲虫衛卫補补裝装覺觉觀观計计記记許许論论讀读讓让貝贝"
        + "負负貴贵買买賣卖輕轻辦办遠远遲迟選选邊边醫医閒闲陣阵隨随雖虽靈灵"
        + "響响頁页順顺須须預预飯饭飲饮餘余驚惊鬧闹麗丽點点曉晓聞闻誰谁軒轩"
        + "輪轮農农邊边陳陈陸陆險险隱隐雪雪霧雾靜静韓韩頓顿領领頻频顧顾飄飘"
        + "餓饿騎骑驗验鬥斗魂魂鳴鸣鴻鸿鵲鹊鶯莺鷹鹰麥麦黨党齒齿龜龟臺台灣湾"
        + "壯壮夢梦嶺岭帶带廣广張张強强歸归愁愁戰战燒烧煙烟獸兽碼码燕燕絲丝"
        + "絕绝綿绵縣县羅罗聖圣腳脚臉脸臨临舊旧蒼苍蓋盖蘇苏蝦虾衆众親亲訪访"
        + "詠咏誤误謝谢護护"
    static let simplifiedOf: [Unicode.Scalar: Unicode.Scalar] = {
        let scalars = Array(pairs.unicodeScalars)
        var table: [Unicode.Scalar: Unicode.Scalar] = [:]
        for i in stride(from: 0, to: scalars.count - 1, by: 2) where scalars[i] != scalars[i + 1] {
            table[scalars[i]] = scalars[i + 1]
        }
        return table
    }()
}
