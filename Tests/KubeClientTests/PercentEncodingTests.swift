import Testing
@testable import KubeClient

@Test func namesArePercentEncodedForURLs() {
    #expect("node-1.example_a~b".percentEncoded == "node-1.example_a~b")
    #expect("a b/ü=&".percentEncoded == "a%20b%2F%C3%BC%3D%26")
}
