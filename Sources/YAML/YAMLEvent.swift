/// libyaml's parse events, translated into Swift values so that building the tree
/// needs no C.
enum YAMLEvent {
    case documentStart(YAMLMark)
    case documentEnd
    case scalar(String, style: YAMLScalarStyle, tag: String?, mark: YAMLMark)
    case alias(anchor: String, mark: YAMLMark)
    case sequenceStart(tag: String?, mark: YAMLMark)
    case sequenceEnd
    case mappingStart(tag: String?, mark: YAMLMark)
    case mappingEnd
}
