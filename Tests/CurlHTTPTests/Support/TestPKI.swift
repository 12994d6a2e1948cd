import Foundation

/// A throwaway CA, server and client certificates made with the openssl CLI, once per
/// test run, plus a second CA that signed nothing of ours.
struct TestPKI: Sendable {
    let directory: String
    var caFile: String { directory + "/ca.crt" }
    var otherCAFile: String { directory + "/other-ca.crt" }
    var serverCertificate: String { directory + "/server.crt" }
    var serverKey: String { directory + "/server.key" }
    var clientCertificate: String { directory + "/client.crt" }
    var clientKey: String { directory + "/client.key" }

    static func shared() async throws -> TestPKI { try await made.value }

    /// Made by the first caller's task; the others await it. Neither blocks a cooperative
    /// thread while openssl runs (a blocking static initializer held every TLS test's
    /// thread, so all other tests stalled on a 2-core machine).
    private static let made = Task { try await TestPKI.make() }

    private static func make() async throws -> TestPKI {
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("curlhttp-pki-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let newKey = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
        let script = """
            set -e
            cd '\(directory)'
            for ca in ca other-ca; do
              openssl req -x509 \(newKey) -keyout $ca.key -out $ca.crt -days 2 -subj /CN=$ca \
                -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
            done
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > server.ext
            printf 'extendedKeyUsage=clientAuth\\n' > client.ext
            for leaf in server client; do
              openssl req -new \(newKey) -keyout $leaf.key -out $leaf.csr -subj /CN=test-$leaf
              openssl x509 -req -in $leaf.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
                -extfile $leaf.ext -out $leaf.crt
            done
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", script]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try await withCheckedThrowingContinuation { (exited: CheckedContinuation<Void, any Error>) in
            process.terminationHandler = { _ in exited.resume() }
            do { try process.run() } catch { exited.resume(throwing: error) }
        }
        guard process.terminationStatus == 0 else { throw TestSetupError("openssl exited with \(process.terminationStatus)") }
        return TestPKI(directory: directory)
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
