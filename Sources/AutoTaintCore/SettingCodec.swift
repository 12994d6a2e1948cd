import YAML

/// A setting's value as written, before it is checked against the setting's type.
/// Environment variables are never quoted: their text is all they have.
struct SettingText {
    var text: String
    var isQuoted: Bool
}

/// Why a setting's text is not a value of its type, said for an operator.
struct SettingTextError: Error {
    var message: String
}

/// How one type of setting is read from text and written back as YAML.
struct SettingCodec<Value>: Sendable {
    /// What a value looks like, for "expected …, found …" messages.
    let expected: String
    let decode: @Sendable (SettingText) throws(SettingTextError) -> Value
    let encode: @Sendable (Value) -> String
}

extension SettingCodec where Value == Bool {
    static let bool = SettingCodec(expected: "true or false", decode: { value throws(SettingTextError) in
        guard !value.isQuoted else {
            throw SettingTextError(message: "\"\(value.text)\" is quoted, so it is text; write true or false without quotes")
        }
        switch value.text {
        case "true": return true
        case "false": return false
        default: throw SettingTextError(message: "\"\(value.text)\" is not a boolean; write true or false")
        }
    }, encode: { $0 ? "true" : "false" })
}

extension SettingCodec where Value == Double {
    static let number = SettingCodec(expected: "a number", decode: { value throws(SettingTextError) in
        guard !value.isQuoted else {
            throw SettingTextError(message: "\"\(value.text)\" is quoted, so it is text; write the number without quotes")
        }
        // Double(_:) would also take "nan", "inf" and hex floats; a config means decimals.
        guard value.text.allSatisfy({ "0123456789.-+eE".contains($0) }), let number = Double(value.text) else {
            throw SettingTextError(message: "\"\(value.text)\" is not a number")
        }
        return number
    }, encode: numberText)
}

/// A number as an operator writes it: `80`, not `80.0`.
func numberText(_ number: Double) -> String {
    number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
}

extension SettingCodec where Value == Duration {
    static let duration = SettingCodec(expected: "a duration such as 30s, 2m or 1h30m", decode: { value throws(SettingTextError) in
        do throws(KubernetesDurationError) {
            return try Duration(kubernetes: value.text)
        } catch {
            throw SettingTextError(message: "\"\(value.text)\" is not a duration: \(error)")
        }
    }, encode: \.kubernetesText)
}

extension SettingCodec where Value == String {
    static let string = SettingCodec(expected: "a string", decode: { $0.text }, encode: yamlScalarText)
}

extension SettingCodec where Value: RawRepresentable & CaseIterable & Sendable, Value.RawValue == String {
    /// One of an enum's raw values, spelled exactly.
    static var oneOf: SettingCodec {
        let allowed = Value.allCases.map(\.rawValue).joined(separator: ", ")
        return SettingCodec(expected: "one of \(allowed)", decode: { value throws(SettingTextError) in
            guard let choice = Value(rawValue: value.text) else {
                throw SettingTextError(message: "\"\(value.text)\" is not one of \(allowed)")
            }
            return choice
        }, encode: \.rawValue)
    }
}
