import { expect } from '@jupyterlab/galata';
import type { APIRequestContext } from '@playwright/test';

/**
 * Contents API helpers the specs share: files written the way no browser writes them (a save
 * from another client, a file set up before the test).
 */

/** Write a notebook through the contents API, with `metadata` over a python3 kernelspec. */
export async function putNotebook(
  request: APIRequestContext,
  file: string,
  cells: any[],
  metadata: Record<string, unknown> = {}
): Promise<void> {
  const response = await request.put(`/api/contents/${file}`, {
    data: {
      type: 'notebook',
      format: 'json',
      content: {
        nbformat: 4,
        nbformat_minor: 5,
        metadata: {
          kernelspec: {
            name: 'python3',
            display_name: 'Python 3',
            language: 'python'
          },
          language_info: { name: 'python' },
          ...metadata
        },
        cells
      }
    }
  });
  expect(response.ok()).toBe(true);
}

/** Write a text file through the contents API. */
export async function putText(
  request: APIRequestContext,
  file: string,
  content: string
): Promise<void> {
  const response = await request.put(`/api/contents/${file}`, {
    data: { type: 'file', format: 'text', content }
  });
  expect(response.ok()).toBe(true);
}

/** Make a folder through the contents API. */
export async function putDirectory(
  request: APIRequestContext,
  dir: string
): Promise<void> {
  const response = await request.put(`/api/contents/${dir}`, {
    data: { type: 'directory' }
  });
  expect(response.ok()).toBe(true);
}
