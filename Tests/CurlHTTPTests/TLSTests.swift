import Foundation
import Testing
import CurlHTTP

@Suite struct TLSTests {
    private func get(_ server: TestServer, _ tls: TLSOptions) async throws -> HTTPResponse {
        let client = try HTTPClient(options: HTTPClientOptions(tls: tls, timeout: .seconds(5)))
        return try await client.send(HTTPRequest(url: server.url + "/echo"))
    }

    private func pem(_ path: String) throws -> PEMSource {
        .data(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    @Test func trustsTheCAFromAFile() async throws {
        let pki = try await TestPKI.shared()
        try await withServer(.tls) { server in
            let response = try await get(server, TLSOptions(certificateAuthority: .file(path: pki.caFile)))
            #expect(response.status == 200)
        }
    }

    @Test func trustsTheCAFromMemory() async throws {
        let pki = try await TestPKI.shared()
        try await withServer(.tls) { server in
            let response = try await get(server, TLSOptions(certificateAuthority: try pem(pki.caFile)))
            #expect(response.status == 200)
        }
    }

    @Test func anotherCAIsATLSError() async throws {
        let pki = try await TestPKI.shared()
        try await withServer(.tls) { server in
            for ca in [PEMSource.file(path: pki.otherCAFile), try pem(pki.otherCAFile)] {
                let error = await #expect(throws: CurlError.self) {
                    try await get(server, TLSOptions(certificateAuthority: ca))
                }
                #expect(error?.kind == .tls)
                #expect(error?.code == 60)
            }
        }
    }

    @Test func skipsVerificationOnlyWhenAsked() async throws {
        try await withServer(.tls) { server in
            let error = await #expect(throws: CurlError.self) { try await get(server, TLSOptions()) }
            #expect(error?.kind == .tls)
            let response = try await get(server, TLSOptions(insecureSkipTLSVerify: true))
            #expect(response.status == 200)
        }
    }

    @Test func presentsAClientCertificateFromFiles() async throws {
        let pki = try await TestPKI.shared()
        try await withServer(.tlsRequiringClientCertificate) { server in
            let response = try await get(server, TLSOptions(
                certificateAuthority: .file(path: pki.caFile),
                clientCertificate: .file(path: pki.clientCertificate),
                clientKey: .file(path: pki.clientKey)
            ))
            #expect(response.status == 200)
        }
    }

    @Test func presentsAClientCertificateFromMemory() async throws {
        let pki = try await TestPKI.shared()
        try await withServer(.tlsRequiringClientCertificate) { server in
            let response = try await get(server, TLSOptions(
                certificateAuthority: try pem(pki.caFile),
                clientCertificate: try pem(pki.clientCertificate),
                clientKey: try pem(pki.clientKey)
            ))
            #expect(response.status == 200)
        }
    }

    @Test func aServerThatRequiresACertificateRefusesUsWithoutOne() async throws {
        let pki = try await TestPKI.shared()
        try await withServer(.tlsRequiringClientCertificate) { server in
            await #expect(throws: CurlError.self) {
                try await get(server, TLSOptions(certificateAuthority: .file(path: pki.caFile)))
            }
        }
    }
}
