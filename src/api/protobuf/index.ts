// Kubernetes protobuf request bodies (kubectl 1.32+ sends them for typed
// objects): decoded to the JSON object the API server already handles.
export { decodeKubernetesProtobuf, readEnvelope, PROTOBUF_MEDIA_TYPE, ProtobufError, type Envelope } from './decode.js';
export { coveredDefinitions } from './tables.js';
