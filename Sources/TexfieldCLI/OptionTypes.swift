import ArgumentParser
import Foundation
import Dynamics
import GraphLearning
import Render
import TextureField

/// A comma-separated option value, e.g. `--encodings eigen,abs` or `--snapshots 120,300`; each
/// item parses as `Element` (an unknown one is an error naming it, with the choices).
struct CommaList<Element: ExpressibleByArgument & Sendable>: ExpressibleByArgument, Sendable {
    var values: [Element]
    init(_ values: [Element]) { self.values = values }
    init?(argument: String) {
        var out = [Element]()
        for part in argument.split(separator: ",", omittingEmptySubsequences: false) {
            guard let e = Element(argument: part.trimmingCharacters(in: .whitespaces)) else { return nil }
            out.append(e)
        }
        guard !out.isEmpty else { return nil }
        values = out
    }
    static var allValueStrings: [String] { Element.allValueStrings }
    var defaultValueDescription: String { values.map { "\($0)" }.joined(separator: ",") }
}

extension CommaList where Element == Double {
    /// Throws naming `option` unless every value lies in `range`.
    func check(_ option: String, in range: ClosedRange<Double>, _ what: String) throws {
        for v in values where !(v.isFinite && range.contains(v)) { throw ValidationError("\(option): \(v) is not \(what)") }
    }
}

/// One of the protocol's view sets.
enum ViewSetName: String, ExpressibleByArgument, CaseIterable, Sendable {
    case train, validation, test
    var defaultCount: Int { [.train: 5, .validation: 3, .test: 20][self]! }
}

/// A view index, or every view of the set.
enum ViewChoice: ExpressibleByArgument, Sendable, CustomStringConvertible, Equatable {
    case all
    case index(Int)
    init?(argument: String) {
        if argument == "all" { self = .all } else if let i = Int(argument), i >= 0 { self = .index(i) } else { return nil }
    }
    var description: String { if case .index(let i) = self { return "\(i)" }; return "all" }
}

extension Encoding: ExpressibleByArgument {}
extension LearningRateSchedule: ExpressibleByArgument {}
extension UVBorder: ExpressibleByArgument {}
extension PositionalEncoding: ExpressibleByArgument {}
