/// A rule the assembled config breaks. A rule about two settings (`lowPercent` below
/// `highPercent`) is phrased from each one's point of view, and reported from the first
/// one the operator actually set, so the error lands on a line they wrote.
struct RuleViolation: Equatable {
    struct Phrasing: Equatable {
        let key: String
        let message: String
    }

    let phrasings: [Phrasing]

    init(_ key: String, _ message: String) {
        phrasings = [Phrasing(key: key, message: message)]
    }

    init(_ phrasings: [Phrasing]) {
        self.phrasings = phrasings
    }
}
