//! The CRI v1 client (runtime and image services) over containerd's unix socket.

use hyper_util::rt::TokioIo;
use k8s_cri::v1::image_service_client::ImageServiceClient;
use k8s_cri::v1::runtime_service_client::RuntimeServiceClient;
use std::path::{Path, PathBuf};
use tonic::transport::{Channel, Endpoint, Uri};

/// Both CRI services over one HTTP/2 connection. Cloning is cheap (the channel is shared), and
/// the generated clients want `&mut self`, so callers clone per call.
#[derive(Debug, Clone)]
pub struct Cri {
    /// `runtime.v1.RuntimeService`: sandboxes, containers, exec, status.
    pub runtime: RuntimeServiceClient<Channel>,
    /// `runtime.v1.ImageService`: pull, status, list.
    pub images: ImageServiceClient<Channel>,
}

impl Cri {
    /// Connects to the CRI server listening on the unix socket at `socket`.
    pub async fn connect(socket: &Path) -> Result<Self, tonic::transport::Error> {
        let socket: PathBuf = socket.to_owned();
        // The URI is required by tonic but unused: the connector always dials the socket.
        let channel = Endpoint::from_static("http://cri.invalid")
            .connect_with_connector(tower::service_fn(move |_: Uri| {
                let socket = socket.clone();
                async move {
                    let stream = tokio::net::UnixStream::connect(socket).await?;
                    Ok::<_, std::io::Error>(TokioIo::new(stream))
                }
            }))
            .await?;
        Ok(Self {
            runtime: RuntimeServiceClient::new(channel.clone()),
            images: ImageServiceClient::new(channel),
        })
    }

    /// The images the runtime holds, as a node reports them: every name (tags and digests) and
    /// the size, largest first, at most `limit` (upstream's `nodeStatusMaxImages`, 50).
    pub async fn node_images(
        &self,
        limit: usize,
    ) -> Result<Vec<(Vec<String>, u64)>, tonic::Status> {
        let reply = self
            .images
            .clone()
            .list_images(k8s_cri::v1::ListImagesRequest { filter: None })
            .await?
            .into_inner();
        let mut images: Vec<(Vec<String>, u64)> = reply
            .images
            .into_iter()
            .map(|i| {
                let mut names = i.repo_tags;
                names.extend(i.repo_digests);
                (names, i.size)
            })
            .filter(|(names, _)| !names.is_empty())
            .collect();
        images.sort_by_key(|i| std::cmp::Reverse(i.1));
        images.truncate(limit);
        Ok(images)
    }

    /// The runtime's name and version, e.g. `("containerd", "1.6.20~ds1")`.
    pub async fn version(&self) -> Result<(String, String), tonic::Status> {
        let reply = self
            .runtime
            .clone()
            .version(k8s_cri::v1::VersionRequest {
                version: "v1".into(),
            })
            .await?
            .into_inner();
        Ok((reply.runtime_name, reply.runtime_version))
    }
}
