// placeholder
@main struct RAGChapter { static func main() {} }
