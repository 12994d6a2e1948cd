import AutoTaintCore
import Testing
@testable import AutoTaintAgent

@Test func annotationsSurviveAFileReload() {
    let live = LiveConfig(Config())
    #expect(live.updateAnnotations(["autotaint.dev/cpu-high-percent": "90", "other": "x"]) == [])
    var reloaded = Config()
    reloaded.signals.cpu.lowPercent = 50
    live.replaceFile(reloaded)
    #expect(live.current.signals.cpu.highPercent == 90)
    #expect(live.current.signals.cpu.lowPercent == 50)
    #expect(live.file.signals.cpu.highPercent == 80)
}

@Test func unchangedOwnAnnotationsAreNotReportedAgain() {
    let live = LiveConfig(Config())
    #expect(live.updateAnnotations(["autotaint.dev/cpu-high-percent": "x"])?.count == 1)
    #expect(live.updateAnnotations(["autotaint.dev/cpu-high-percent": "x", "someone.else/a": "b"]) == nil)
    #expect(live.updateAnnotations([:]) == [])
    #expect(live.current == Config())
}
