import YAML

/// The little YAML navigation a kubeconfig needs: string members of mappings and the
/// named entries of `clusters`, `users` and `contexts`.
extension YAMLNode {
    /// The value of the last entry called `key` (later entries win, as in Go's YAML
    /// decoding); nil for a null value, a missing key or a node that is not a mapping.
    subscript(key: String) -> YAMLNode? {
        guard case .mapping(let entries, _) = self else { return nil }
        let value = entries.last { entry in
            if case .scalar(key, _, _) = entry.key { true } else { false }
        }?.value
        return value?.isNull == true ? nil : value
    }

    /// The text of a scalar; nil for a mapping or a sequence.
    var text: String? {
        guard case .scalar(let text, _, _) = self else { return nil }
        return text
    }

    /// In a list of `{name: N, ...}` entries, the last one called `name`.
    func entry(named name: String) -> YAMLNode? {
        guard case .sequence(let items, _) = self else { return nil }
        return items.last { $0["name"]?.text == name }
    }
}
