export {
  NOTATION_COSE_MEDIA_TYPE,
  NOTATION_JWS_MEDIA_TYPE,
  verifyNotationEnvelope,
  type NotationInput,
  type NotationTrust,
} from './verify.js';
