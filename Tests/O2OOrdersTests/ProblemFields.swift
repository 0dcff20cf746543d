import O2OCore

extension Problem {
    /// The fields a 422 names.
    var fields: Set<String> { Set((errors ?? []).map(\.field)) }
}
