// Small durable-file helpers shared by the spool's cursor and seq files.
import { open, rename } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Replace `file` atomically and durably: write a temporary file, fsync it, rename it over
 * the old one, fsync the folder. A crash leaves either the old or the new content.
 */
export async function writeFileDurable (file: string, data: string | Buffer): Promise<void> {
  const tmp = `${file}.tmp`
  const fh = await open(tmp, 'w')
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await rename(tmp, file)
  await syncDir(dirname(file))
}

export async function syncDir (dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}
