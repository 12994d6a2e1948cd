import AutoTaintCore
import LibFuzzerDriver

/// Fuzz target: the input as the text of a Kubernetes-style duration (`30s`, `1m30s`).
/// Any text must give a duration or a `KubernetesDurationError`; a duration must be
/// non-negative and read back from its own `kubernetesText` as the same duration.
LibFuzzer.run { bytes in
    let text = String(decoding: bytes, as: UTF8.self)
    let duration: Duration
    do throws(KubernetesDurationError) {
        duration = try Duration(kubernetes: text)
    } catch {
        _ = error.description
        return
    }
    require(duration >= .zero, "\"\(text)\" read as the negative \(duration)")
    let written = duration.kubernetesText
    let reread = try? Duration(kubernetes: written)
    require(reread == duration, "\"\(text)\" is \(duration), written \"\(written)\", read back as \(String(describing: reread))")
}
