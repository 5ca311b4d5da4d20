//! Software Vulkan drivers (Mesa's lavapipe) compile shaders with their own LLVM and bind its
//! functions lazily, on first call. TensorFlow loads another LLVM into the process's global
//! symbol scope; a driver call first made after that binds to TensorFlow's copy and crashes.
//! So, when software adapters are allowed, such drivers are loaded here first with every
//! symbol bound at once (`RTLD_NOW`, which also binds the LLVM they load); the Vulkan loader's
//! own `dlopen` of the same file then finds them loaded and bound.

#[cfg(target_os = "linux")]
use std::path::{Path, PathBuf};

/// The Vulkan driver manifests the loader reads: the files named by `VK_DRIVER_FILES` or
/// `VK_ICD_FILENAMES`, else those in the standard `vulkan/icd.d` folders.
#[cfg(target_os = "linux")]
fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = ["VK_DRIVER_FILES", "VK_ICD_FILENAMES"]
        .iter()
        .filter_map(|v| std::env::var(v).ok())
        .flat_map(|v| {
            v.split(':')
                .filter(|s| !s.is_empty())
                .map(PathBuf::from)
                .collect::<Vec<_>>()
        })
        .collect();
    if files.is_empty() {
        let data =
            std::env::var("XDG_DATA_DIRS").unwrap_or_else(|_| "/usr/local/share:/usr/share".into());
        let dirs = std::iter::once(PathBuf::from("/etc/vulkan/icd.d"))
            .chain(data.split(':').map(|d| Path::new(d).join("vulkan/icd.d")));
        for d in dirs {
            if let Ok(entries) = std::fs::read_dir(&d) {
                files.extend(entries.flatten().map(|e| e.path()));
            }
        }
    }
    files
}

/// Loads Mesa's LLVM-based software Vulkan drivers with every symbol bound now.
#[cfg(target_os = "linux")]
pub(super) fn bind_software_drivers_now() {
    use std::ffi::{c_char, c_int, c_void, CString};
    use std::os::unix::ffi::OsStrExt;
    extern "C" {
        fn dlopen(filename: *const c_char, flag: c_int) -> *mut c_void;
    }
    const RTLD_NOW: c_int = 2;
    for manifest in manifests() {
        let Ok(text) = std::fs::read_to_string(&manifest) else {
            continue;
        };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let Some(lib) = json["ICD"]["library_path"].as_str() else {
            continue;
        };
        if !lib.contains("vulkan_lvp") {
            continue;
        }
        // A relative path with a folder is relative to the manifest, as the loader reads it.
        let path = match manifest.parent() {
            Some(dir) if lib.contains('/') && !lib.starts_with('/') => dir.join(lib),
            _ => PathBuf::from(lib),
        };
        if let Ok(c) = CString::new(path.as_os_str().as_bytes()) {
            // SAFETY: loads a driver that the Vulkan loader loads anyway, from the path it
            // uses; the handle is never closed.
            unsafe { dlopen(c.as_ptr(), RTLD_NOW) };
        }
    }
}

#[cfg(not(target_os = "linux"))]
pub(super) fn bind_software_drivers_now() {}
