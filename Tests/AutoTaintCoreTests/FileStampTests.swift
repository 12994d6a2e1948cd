import Glibc
import Testing
@testable import AutoTaintCore

private func temporaryDirectory() throws -> String {
    var template = Array("/tmp/autotaint-stamp-XXXXXX".utf8CString)
    let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    let path = try #require(made.map { String(cString: $0) })
    return path
}

private func write(_ text: String, to path: String) {
    let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    var bytes = Array(text.utf8)
    _ = bytes.withUnsafeMutableBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
    close(descriptor)
}

@Test func aFileLeftAloneKeepsItsStampAndAnyChangeMakesANewOne() throws {
    let directory = try temporaryDirectory()
    let path = directory + "/config.yaml"
    write("sampling: {interval: 1s}\n", to: path)
    let first = try #require(FileStamp(path: path))
    #expect(FileStamp(path: path) == first)

    write("sampling: {interval: 2s, source: proc}\n", to: path)
    let rewritten = try #require(FileStamp(path: path))
    #expect(rewritten != first)

    // kubelet's ConfigMap update: a new file renamed over the old one (a new inode), here
    // with the same length.
    write("sampling: {interval: 3s, source: proc}\n", to: directory + "/next")
    rename(directory + "/next", path)
    #expect(FileStamp(path: path) != rewritten)

    #expect(FileStamp(path: directory + "/missing") == nil)
}

@Test func aStampProvesNothingUntilItsLastChangeIsTwoSecondsOld() {
    let stamp = FileStamp(device: 1, inode: 2, size: 3, modified: timespec(tv_sec: 100, tv_nsec: 5),
                          changed: timespec(tv_sec: 99, tv_nsec: 0))
    #expect(!stamp.isSettled(atWallSecond: 100))
    #expect(!stamp.isSettled(atWallSecond: 101))
    #expect(stamp.isSettled(atWallSecond: 102))
    // The later of the two times counts: a chmod or a rename changes only the ctime.
    let renamed = FileStamp(device: 1, inode: 2, size: 3, modified: timespec(tv_sec: 50, tv_nsec: 0),
                            changed: timespec(tv_sec: 101, tv_nsec: 0))
    #expect(!renamed.isSettled(atWallSecond: 102))
    #expect(renamed.isSettled(atWallSecond: 103))
}
