/** Deal pieces on the worker: placement in the sector, fetching with the CommP check, unsealed-piece upload. */
export { type DealPiece, findLocalPiece, type PieceSources, type StagedPiece, stagePiece } from './fetch.js';
export {
  MARKET_NAMESPACE,
  MARKET_NAMESPACE_HEADER,
  openPieceUrl,
  PieceNetworkError,
  PieceStatusError,
  safeUrl,
} from './http.js';
export { isPledgePiece, LayoutError, type Placed, pieceCidString, placePieces, zeroFill } from './layout.js';
export { marketTarget, safeDest, type UploadOptions, uploadPiece } from './upload.js';
