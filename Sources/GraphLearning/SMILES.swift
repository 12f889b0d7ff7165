import Support
import Foundation

/// A SMILES reader for molecule graphs: atoms become nodes (element, formal charge,
/// aromaticity, explicit hydrogens), bonds become edges with their order (1, 2, 3, or 4 for
/// aromatic). Supports the organic subset (B C N O P S F Cl Br I, aromatic b c n o p s),
/// bracket atoms ([NH4+], [O-], [nH], [C@@H], [13C], [Na+]), bonds - = # : / \, branches, ring
/// closures (digits and %nn) and '.'-separated fragments. Stereo marks are read and ignored.
public enum SMILES {
    /// Elements one-hot encoded (the last slot is "other").
    public static let elements = ["C", "N", "O", "F", "P", "S", "Cl", "Br", "I", "B", "Si", "Se", "Na", "K", "Li", "Ca", "Zn", "H"]
    /// Node features: one-hot element (elements + other), formal charge, aromatic flag, hydrogens.
    public static var featureCount: Int { elements.count + 1 + 3 }

    public struct Atom: Equatable { public var element: String; public var charge: Int; public var aromatic: Bool; public var hydrogens: Int }

    struct BracketError: Error { let message: String }

    /// A bracket atom's inside ("NH4+", "13C", "C@@H", "nH", "O-", "Na+"): isotope (ignored),
    /// element (two letters where the element table has them), aromaticity, stereo marks
    /// (ignored), hydrogen count, charge (`+`, `++`, `+2`), atom class (ignored).
    static func bracketAtom(_ body: [Character]) -> Result<Atom, BracketError> {
        var body = body
        while let f = body.first, f.isNumber { body.removeFirst() }  // isotope
        guard let f = body.first, f.isLetter else { return .failure(BracketError(message: "bracket atom without an element")) }
        var el = String(f), aromatic = false
        var j = 1
        if f.isLowercase {
            aromatic = true; el = el.uppercased()
            if j < body.count, body[j].isLowercase { el += String(body[j]); j += 1 }  // [se], [as]
        } else if j < body.count, body[j].isLowercase {
            // two-letter element (Cl, Br, Na, Si, Se, …), unless the next letter is an H count
            let two = el + String(body[j])
            if elements.contains(two) || ["Mg", "Al", "Fe", "Cu", "Mn", "Co", "Ni", "Sn", "Hg", "Ag", "Au", "Pt", "Bi", "As", "Te", "Ge", "Ga", "Rb", "Cs", "Sr", "Ba"].contains(two) { el = two; j += 1 }
        }
        var h = 0, charge = 0
        while j < body.count {
            let d = body[j]
            if d == "@" { j += 1; continue }
            if d == "H" {
                j += 1; var num = ""
                while j < body.count, body[j].isNumber { num.append(body[j]); j += 1 }
                h = Int(num) ?? 1; continue
            }
            if d == "+" || d == "-" {
                let sign = d == "+" ? 1 : -1
                j += 1; var num = ""; var repeatCount = 1
                while j < body.count, body[j] == d { repeatCount += 1; j += 1 }
                while j < body.count, body[j].isNumber { num.append(body[j]); j += 1 }
                charge = sign * (Int(num) ?? repeatCount); continue
            }
            if d == ":" { j = body.count; continue }  // atom class
            return .failure(BracketError(message: "unexpected '\(d)' in bracket atom"))
        }
        return .success(Atom(element: el, charge: charge, aromatic: aromatic, hydrogens: h))
    }

    /// Parses one SMILES string; `context` (e.g. "micro_ZINC.csv row 17") prefixes errors.
    public static func parse(_ s: String, context: String = "SMILES") throws -> (atoms: [Atom], bonds: [(Int, Int, Int)]) {
        let chars = Array(s)
        var atoms = [Atom](), bonds = [(Int, Int, Int)]()
        var prev: Int? = nil, pendingBond: Int? = nil
        var stack = [Int?]()
        var rings = [Int: (Int, Int?)]()
        var i = 0
        func fail(_ msg: String) -> GraphError { GraphError.bad("\(context): \(msg) at character \(i + 1) of '\(excerpt(s))'") }
        func addAtom(_ a: Atom) {
            atoms.append(a)
            let idx = atoms.count - 1
            if let p = prev {
                let order = pendingBond ?? (a.aromatic && atoms[p].aromatic ? 4 : 1)
                bonds.append((p, idx, order))
            }
            prev = idx; pendingBond = nil
        }
        let organic2 = ["Cl", "Br"], organic1: Set<Character> = ["B", "C", "N", "O", "P", "S", "F", "I"], aromatic1: Set<Character> = ["b", "c", "n", "o", "p", "s"]
        while i < chars.count {
            let c = chars[i]
            if i + 1 < chars.count, organic2.contains(String(chars[i...i + 1])) {
                addAtom(Atom(element: String(chars[i...i + 1]), charge: 0, aromatic: false, hydrogens: 0)); i += 2; continue
            }
            if organic1.contains(c) { addAtom(Atom(element: String(c), charge: 0, aromatic: false, hydrogens: 0)); i += 1; continue }
            if aromatic1.contains(c) { addAtom(Atom(element: String(c).uppercased(), charge: 0, aromatic: true, hydrogens: 0)); i += 1; continue }
            switch c {
            case "[":
                guard let close = chars[i...].firstIndex(of: "]") else { throw fail("'[' without ']'") }
                switch bracketAtom(Array(chars[(i + 1)..<close])) {
                case .success(let atom): addAtom(atom)
                case .failure(let e): throw fail(e.message)
                }
                i = close + 1
            case "-": pendingBond = 1; i += 1
            case "=": pendingBond = 2; i += 1
            case "#": pendingBond = 3; i += 1
            case ":": pendingBond = 4; i += 1
            case "/", "\\": pendingBond = pendingBond ?? 1; i += 1
            case "(":
                guard prev != nil else { throw fail("branch before any atom") }
                stack.append(prev); i += 1
            case ")":
                guard let p = stack.popLast() else { throw fail("unbalanced ')'") }
                prev = p; i += 1
            case ".": prev = nil; pendingBond = nil; i += 1
            case "%", "0"..."9":
                var num: Int
                if c == "%" {
                    guard i + 2 < chars.count, let n = Int(String(chars[(i + 1)...(i + 2)])) else { throw fail("'%' needs two digits") }
                    num = n; i += 3
                } else {
                    // One ASCII digit (a Character such as "5\u{301}" also sorts between "0" and "9").
                    guard let a = c.asciiValue, (48...57).contains(a) else { throw fail("unexpected '\(c)'") }
                    num = Int(a) - 48; i += 1
                }
                guard let p = prev else { throw fail("ring closure before any atom") }
                if let (q, order) = rings.removeValue(forKey: num) {
                    let o = pendingBond ?? order ?? (atoms[p].aromatic && atoms[q].aromatic ? 4 : 1)
                    guard p != q else { throw fail("ring \(num) closes on its own atom") }
                    bonds.append((q, p, o))
                } else {
                    rings[num] = (p, pendingBond)
                }
                pendingBond = nil
            default:
                throw fail("unexpected '\(c)'")
            }
        }
        guard stack.isEmpty else { throw GraphError.bad("\(context): unbalanced '(' in '\(excerpt(s))'") }
        guard rings.isEmpty else { throw GraphError.bad("\(context): ring closure \(rings.keys.sorted().map(String.init).joined(separator: ", ")) never closed in '\(excerpt(s))'") }
        guard !atoms.isEmpty else { throw GraphError.bad("\(context): no atoms in '\(excerpt(s))'") }
        // Spectral encodings decompose each graph densely (n² memory): molecules are bounded.
        guard atoms.count <= maxAtoms else {
            throw GraphError.bad("\(context): \(atoms.count) atoms; at most \(maxAtoms) per molecule (spectral encodings are dense in the atom count)")
        }
        return (atoms, bonds)
    }

    /// The most atoms a molecule may have (ZINC's have at most 38).
    public static let maxAtoms = 1000

    /// The molecule as a graph (edge types = bond orders, 4 = aromatic).
    public static func graph(_ s: String, context: String = "SMILES", target: Double = 0) throws -> Graph {
        let (atoms, bonds) = try parse(s, context: context)
        let f = featureCount
        var feats = [Float](repeating: 0, count: atoms.count * f)
        for (i, a) in atoms.enumerated() {
            feats[i * f + (elements.firstIndex(of: a.element) ?? elements.count)] = 1
            feats[i * f + elements.count + 1] = Float(a.charge)
            feats[i * f + elements.count + 2] = a.aromatic ? 1 : 0
            feats[i * f + elements.count + 3] = Float(a.hydrogens)
        }
        return Graph(nodeCount: atoms.count, edges: bonds.map { ($0.0, $0.1) }, features: feats, featureCount: f,
                     edgeTypes: bonds.map { $0.2 }, target: target)
    }

    /// Reads a CSV with a SMILES column and a numeric target column (by name); errors name the row.
    public static func readCSV(path: String, smilesColumn: String = "SMILES", targetColumn: String = "score") throws -> [Graph] {
        let text: String
        do { text = try InputFile.readText(path, limit: 1 << 30) } catch let e as FileReadError { throw GraphError.bad(e.description) }
        // Line numbers as in the file: empty lines are skipped but counted.
        var lines = [(number: Int, text: String)]()
        for (i, raw) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
        where !raw.allSatisfy(\.isWhitespace) { lines.append((i + 1, String(raw))) }
        guard !lines.isEmpty else { throw GraphError.bad("\(path): empty") }
        let first = lines.removeFirst()
        let header = first.text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard let si = header.firstIndex(of: smilesColumn), let ti = header.firstIndex(of: targetColumn) else {
            throw GraphError.bad("\(path): line \(first.number) must be a header with columns \(smilesColumn) and \(targetColumn); it has \(excerpt(header.joined(separator: ", "), limit: 80))")
        }
        return try lines.enumerated().map { r, entry in
            let at = "\(path): row \(r + 1) (line \(entry.number))"
            let cells = entry.text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == header.count else { throw GraphError.bad("\(at): \(cells.count) columns, the header has \(header.count)") }
            guard let t = Double(cells[ti]) else { throw GraphError.bad("\(at): target '\(excerpt(cells[ti]))' is not a number") }
            guard t.isFinite else { throw GraphError.bad("\(at): target '\(excerpt(cells[ti]))' is not a finite number") }
            return try graph(cells[si], context: at, target: t)
        }
    }
}
