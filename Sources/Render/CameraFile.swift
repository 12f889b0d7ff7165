import Foundation
import Support

/// Camera sets as files, in two conventions.
///
/// **texfield's `cameras.json`** (OpenCV convention, what every fit writes):
/// ```json
/// { "convention": "…", "train": [camera, …], "validation": [...], "test": [...] }
/// camera = { "width": 512, "height": 512, "fx": …, "fy": …, "cx": …, "cy": …,
///            "camera_to_world": [[r00, r01, r02, tx], [r10, r11, r12, ty], [r20, r21, r22, tz], [0, 0, 0, 1]] }
/// ```
/// The camera looks along its +z axis, x right, y down; pixel (column c, row r) has its centre at
/// (c + 0.5, r + 0.5); `camera_to_world` maps camera coordinates to the mesh's coordinates.
///
/// **nerfstudio / instant-ngp `transforms.json`** (OpenGL camera axes: x right, y up, looking
/// along −z): intrinsics `fl_x fl_y cx cy w h` at the top level or per frame (or `camera_angle_x`),
/// per frame a 4×4 camera-to-world `transform_matrix` and a `file_path`. texfield adds a per-frame
/// `"split": "train" | "validation" | "test"`; without it the split comes from `testEvery`.
/// Both conventions put pixel centres at half-integers, so cx and cy carry over unchanged; the
/// axes differ by a flip of y and z.
public enum CameraFile {
    public static let convention = "OpenCV pinhole: the camera looks along +z, x right, y down; pixel (c, r) has its centre at (c + 0.5, r + 0.5); camera_to_world maps camera to world (mesh) coordinates"

    /// Errors name the file and the frame or field at fault.
    public struct Error: Swift.Error, CustomStringConvertible, Equatable, Sendable {
        public let path: String
        public let message: String
        public init(path: String, message: String) { self.path = path; self.message = message }
        public var description: String { "\(path): \(message)" }
    }

    // MARK: texfield's own format

    struct OpenCVCamera: Codable {
        var width: Int, height: Int
        var fx: Double, fy: Double, cx: Double, cy: Double
        var camera_to_world: [[Double]]
    }

    struct OpenCVFile: Codable {
        var convention: String
        var train: [OpenCVCamera]
        var validation: [OpenCVCamera]
        var test: [OpenCVCamera]
    }

    static func matrix(_ c: Camera) -> [[Double]] {
        let r = c.rotation, t = c.center
        return [[r[0], r[1], r[2], t[0]], [r[3], r[4], r[5], t[1]], [r[6], r[7], r[8], t[2]], [0, 0, 0, 1]]
    }

    /// The cameras in texfield's `cameras.json` form.
    public static func encodeOpenCV(_ views: ProtocolViews) throws -> Data {
        func one(_ c: Camera) -> OpenCVCamera {
            OpenCVCamera(width: c.width, height: c.height, fx: c.fx, fy: c.fy, cx: c.cx, cy: c.cy, camera_to_world: matrix(c))
        }
        let f = OpenCVFile(convention: convention, train: views.train.map(one), validation: views.validation.map(one), test: views.test.map(one))
        return try TexfieldJSON.encoder().encode(f)
    }

    // MARK: nerfstudio / instant-ngp

    struct Frame: Codable {
        var file_path: String?
        var transform_matrix: [[Double]]
        var split: String?
        var fl_x: Double?, fl_y: Double?, cx: Double?, cy: Double?, w: Int?, h: Int?
    }

    struct Transforms: Codable {
        var camera_model: String?
        var fl_x: Double?, fl_y: Double?, cx: Double?, cy: Double?, w: Int?, h: Int?
        var camera_angle_x: Double?
        var frames: [Frame]
    }

    /// The cameras as nerfstudio's `transforms.json` (OpenGL axes), one frame per camera with its
    /// split and `file_path` = `imagePath(split, index)` (e.g. the ground-truth images `texfield
    /// render --cameras` writes). Intrinsics per frame (views may differ in size).
    public static func encodeTransforms(_ views: ProtocolViews,
                                        imagePath: (String, Int) -> String = { "images/\($0)_\(String(format: "%03d", $1)).png" }) throws -> Data {
        var frames = [Frame]()
        for (split, cams) in [("train", views.train), ("validation", views.validation), ("test", views.test)] {
            for (i, c) in cams.enumerated() {
                var m = matrix(c)
                for row in 0..<3 { m[row][1] = -m[row][1]; m[row][2] = -m[row][2] }  // OpenCV → OpenGL axes
                frames.append(Frame(file_path: imagePath(split, i), transform_matrix: m, split: split,
                                    fl_x: c.fx, fl_y: c.fy, cx: c.cx, cy: c.cy, w: c.width, h: c.height))
            }
        }
        return try TexfieldJSON.encoder().encode(Transforms(camera_model: "OPENCV", frames: frames))
    }

    /// A frame of a `transforms.json` with its camera, split and image path (absolute, or as written).
    public struct NamedFrame: Sendable {
        public var camera: Camera
        public var split: String
        public var filePath: String?
    }

    // MARK: reading either

    /// Reads a camera file in either convention (told apart by its keys: `frames` or `train`).
    /// `testEvery` splits a `transforms.json` whose frames carry no `split`: frame i is a test view
    /// when i % N == 0, a validation view when i % N == 1 (N ≥ 3), a training view otherwise.
    public static func read(path: String, testEvery: Int = 8) throws -> ProtocolViews {
        let frames = try readFrames(path: path, testEvery: testEvery)
        func set(_ s: String) -> [Camera] { frames.filter { $0.split == s }.map(\.camera) }
        let views = ProtocolViews(train: set("train"), validation: set("validation"), test: set("test"))
        for (name, cams) in [("train", views.train), ("validation", views.validation), ("test", views.test)] where cams.isEmpty {
            throw Error(path: path, message: "no \(name) cameras (give each frame a \"split\", or choose another test-every)")
        }
        return views
    }

    /// Every camera of a file with its split (and, for `transforms.json`, its image path resolved
    /// against the file's folder).
    public static func readFrames(path: String, testEvery: Int = 8) throws -> [NamedFrame] {
        let data: Data
        do { data = try InputFile.read(path, limit: 256 << 20) } catch let e as FileReadError { throw Error(path: path, message: "cannot read: \(e.reason)") }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Error(path: path, message: "not a JSON object")
        }
        if object["frames"] != nil {
            let t: Transforms
            do { t = try TexfieldJSON.decoder().decode(Transforms.self, from: data) } catch { throw Error(path: path, message: "not a transforms.json: \(describeDecodingError(error))") }
            guard testEvery >= 1 else { throw Error(path: path, message: "test-every must be at least 1") }
            let folder = (path as NSString).deletingLastPathComponent
            return try t.frames.enumerated().map { i, f in
                let w = f.w ?? t.w, h = f.h ?? t.h
                guard let w, let h else { throw Error(path: path, message: "frame \(i): no image size (w, h)") }
                var flx = f.fl_x ?? t.fl_x
                if flx == nil, let a = t.camera_angle_x { flx = 0.5 * Double(w) / tan(0.5 * a) }
                guard let fx = flx else { throw Error(path: path, message: "frame \(i): no focal length (fl_x or camera_angle_x)") }
                let fy = f.fl_y ?? t.fl_y ?? fx
                var m = f.transform_matrix
                guard m.count >= 3, m.prefix(3).allSatisfy({ $0.count == 4 }) else {
                    throw Error(path: path, message: "frame \(i): transform_matrix is not 4 × 4")
                }
                for row in 0..<3 { m[row][1] = -m[row][1]; m[row][2] = -m[row][2] }  // OpenGL → OpenCV axes
                let cam = try camera(w: w, h: h, fx: fx, fy: fy, cx: f.cx ?? t.cx ?? 0.5 * Double(w), cy: f.cy ?? t.cy ?? 0.5 * Double(h),
                                     m: m, path: path, what: "frame \(i)")
                let split: String
                if let s = f.split {
                    guard ["train", "validation", "test"].contains(s) else {
                        throw Error(path: path, message: "frame \(i): split \"\(s)\" is not train, validation or test")
                    }
                    split = s
                } else {
                    split = i % testEvery == 0 ? "test" : (testEvery >= 3 && i % testEvery == 1 ? "validation" : "train")
                }
                let file = f.file_path.map { $0.hasPrefix("/") ? $0 : folder + "/" + $0 }
                return NamedFrame(camera: cam, split: split, filePath: file)
            }
        }
        let f: OpenCVFile
        do { f = try TexfieldJSON.decoder().decode(OpenCVFile.self, from: data) } catch {
            throw Error(path: path, message: "neither a texfield cameras.json nor a transforms.json: \(describeDecodingError(error))")
        }
        var out = [NamedFrame]()
        for (split, cams) in [("train", f.train), ("validation", f.validation), ("test", f.test)] {
            for (i, c) in cams.enumerated() {
                let cam = try camera(w: c.width, h: c.height, fx: c.fx, fy: c.fy, cx: c.cx, cy: c.cy, m: c.camera_to_world,
                                     path: path, what: "\(split) camera \(i)")
                out.append(NamedFrame(camera: cam, split: split, filePath: nil))
            }
        }
        return out
    }

    /// A camera from decoded values, range-checked: sizes 1…8192, positive finite focal lengths,
    /// finite principal point and pose, a rotation that is orthonormal with determinant +1 (to 1e-6).
    static func camera(w: Int, h: Int, fx: Double, fy: Double, cx: Double, cy: Double, m: [[Double]],
                       path: String, what: String) throws -> Camera {
        guard (1...8192).contains(w), (1...8192).contains(h) else { throw Error(path: path, message: "\(what): image size \(w) × \(h) outside 1…8192") }
        guard fx.isFinite, fy.isFinite, fx > 0, fy > 0 else { throw Error(path: path, message: "\(what): focal lengths \(fx), \(fy) must be positive") }
        guard cx.isFinite, cy.isFinite else { throw Error(path: path, message: "\(what): principal point (\(cx), \(cy)) is not finite") }
        guard m.count >= 3, m.prefix(3).allSatisfy({ $0.count == 4 && $0.allSatisfy(\.isFinite) }) else {
            throw Error(path: path, message: "\(what): camera_to_world must be 3 × 4 or 4 × 4 finite numbers")
        }
        let r = [m[0][0], m[0][1], m[0][2], m[1][0], m[1][1], m[1][2], m[2][0], m[2][1], m[2][2]]
        var worst = 0.0
        for a in 0..<3 { for b in 0..<3 {
            let dot = r[a] * r[b] + r[3 + a] * r[3 + b] + r[6 + a] * r[6 + b]
            worst = max(worst, abs(dot - (a == b ? 1 : 0)))
        } }
        let det = r[0] * (r[4] * r[8] - r[5] * r[7]) - r[1] * (r[3] * r[8] - r[5] * r[6]) + r[2] * (r[3] * r[7] - r[4] * r[6])
        guard worst < 1e-6, det > 0 else {
            throw Error(path: path, message: "\(what): the rotation is not orthonormal with determinant +1 (error \(String(format: "%.2g", worst)), det \(String(format: "%.3g", det))); scaled or mirrored poses are not supported")
        }
        return Camera(width: w, height: h, fx: fx, fy: fy, cx: cx, cy: cy, rotation: r, center: [m[0][3], m[1][3], m[2][3]])
    }
}

extension ProtocolViews {
    /// A given camera set.
    public init(train: [Camera], validation: [Camera], test: [Camera]) {
        self.train = train; self.validation = validation; self.test = test
    }
}
