import Foundation
import Imaging
import Render

/// Photographs of a mesh with their cameras, read from a nerfstudio / instant-ngp
/// `transforms.json` (`CameraFile.readFrames`): each frame's image (PNG; RGB, or RGBA whose alpha
/// marks the object), its camera and its split.
public struct PhotoSet: Sendable {
    public struct Photo: Sendable {
        public var camera: Camera
        public var split: String
        /// The photo as RGB.
        public var image: Image
        /// alpha > 0.5 per pixel, when the photo has an alpha channel.
        public var alpha: [Bool]?
        public var path: String
    }

    public var photos: [Photo]

    /// The cameras by split.
    public var cameras: ProtocolViews {
        func set(_ s: String) -> [Camera] { photos.filter { $0.split == s }.map(\.camera) }
        return ProtocolViews(train: set("train"), validation: set("validation"), test: set("test"))
    }

    /// Reads `path` and every frame's image (relative paths from the file's folder); each image
    /// must have its camera's size. `testEvery` splits frames without a `split`.
    public static func read(path: String, testEvery: Int = 8) throws -> PhotoSet {
        let frames = try CameraFile.readFrames(path: path, testEvery: testEvery)
        guard !frames.isEmpty else { throw CameraFile.Error(path: path, message: "no frames") }
        var photos = [Photo]()
        for (i, f) in frames.enumerated() {
            guard let file = f.filePath else { throw CameraFile.Error(path: path, message: "frame \(i): no file_path") }
            let img = try Image.readPNG(path: file)
            guard img.width == f.camera.width, img.height == f.camera.height else {
                throw CameraFile.Error(path: path, message: "frame \(i): \(file) is \(img.width) × \(img.height), its camera \(f.camera.width) × \(f.camera.height)")
            }
            var alpha: [Bool]? = nil
            if img.channels == 2 || img.channels == 4 {
                let c = img.channels
                alpha = (0..<(img.width * img.height)).map { img.pixels[$0 * c + c - 1] > 0.5 }
            }
            photos.append(Photo(camera: f.camera, split: f.split, image: img.rgb(), alpha: alpha, path: file))
        }
        for s in ["train", "validation", "test"] where !photos.contains(where: { $0.split == s }) {
            throw CameraFile.Error(path: path, message: "no \(s) frames (give each frame a \"split\", or choose another test-every)")
        }
        return PhotoSet(photos: photos)
    }
}
