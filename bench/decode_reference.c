// An independent reference for `llm bench --only generate`: batch-1 decoding of the llama-style 'small'
// shape (dim 384, 6 layers, 6 heads, SwiGLU hidden 1024, vocab 4096, context 256, fp32, random weights)
// the way llama2.c's run.c does it — rmsnorm, q/k/v, RoPE, attention over a KV cache (OpenMP over
// heads), SwiGLU FFN, classifier, a scalar `matmul` loop parallelised with OpenMP over rows, then
// softmax and top-p 0.9 sampling (candidates above (1 − p)/(V − 1), then qsort). Written for the course
// to time llama2.c's algorithm on the machine at hand, in the same hour as our own figures.
//
//   make bench-reference      (= cc -Ofast -march=native -fopenmp; 1 and 2 threads, 3 runs each)
//
// Prints tokens/s over 200 new tokens after a 16-token prompt, like the bench's generation rows.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <time.h>
static double now(){struct timespec t;clock_gettime(CLOCK_MONOTONIC,&t);return t.tv_sec+t.tv_nsec*1e-9;}
static void matmul(float* xout, const float* x, const float* w, int n, int d) {
    int i;
    #pragma omp parallel for private(i)
    for (i = 0; i < d; i++) { float v = 0.0f; for (int j = 0; j < n; j++) v += w[i * n + j] * x[j]; xout[i] = v; }
}
static void rmsnorm(float* o, const float* x, const float* w, int n){ float ss=0; for(int j=0;j<n;j++) ss+=x[j]*x[j]; ss=1.0f/sqrtf(ss/n+1e-5f); for(int j=0;j<n;j++) o[j]=w[j]*ss*x[j]; }
static void softmax(float* x, int n){ float m=x[0]; for(int i=1;i<n;i++) if(x[i]>m) m=x[i]; float s=0; for(int i=0;i<n;i++){x[i]=expf(x[i]-m); s+=x[i];} for(int i=0;i<n;i++) x[i]/=s; }
typedef struct { float p; int i; } PI;
static int cmp(const void* a, const void* b){ float x=((PI*)a)->p, y=((PI*)b)->p; return x>y?-1:x<y?1:0; }
static unsigned long long rs = 42; static float rnd(){ rs^=rs>>12; rs^=rs<<25; rs^=rs>>27; return ((rs*0x2545F4914F6CDD1Dull)>>40)/16777216.0f; }
static int topp(float* p, int n, float tp, PI* buf){ int k=0; float cut=(1-tp)/(n-1); for(int i=0;i<n;i++) if(p[i]>=cut){buf[k].i=i;buf[k].p=p[i];k++;}
  qsort(buf,k,sizeof(PI),cmp); float c=0; int last=k-1; for(int i=0;i<k;i++){c+=buf[i].p; if(c>tp){last=i;break;}}
  float r=rnd()*c, cdf=0; for(int i=0;i<=last;i++){cdf+=buf[i].p; if(r<cdf) return buf[i].i;} return buf[last].i; }
int main(){ const int dim=384, hid=1024, L=6, H=6, V=4096, T=256, hs=dim/H;
  long nw = (long)V*dim + L*(4L*dim*dim + 3L*dim*hid + 2*dim) + dim; float* w = malloc(nw*sizeof(float));
  for (long i=0;i<nw;i++) w[i] = ((i*2654435761u)%1000)/1000.0f*0.04f-0.02f;
  float *emb=w, *p=w+(long)V*dim, *wq[6],*wk[6],*wv[6],*wo[6],*w1[6],*w2[6],*w3[6],*ra[6],*rf[6];
  for(int l=0;l<L;l++){ ra[l]=p; p+=dim; rf[l]=p; p+=dim; wq[l]=p; p+=dim*dim; wk[l]=p; p+=dim*dim; wv[l]=p; p+=dim*dim; wo[l]=p; p+=dim*dim; w1[l]=p; p+=dim*hid; w2[l]=p; p+=dim*hid; w3[l]=p; p+=dim*hid; }
  for(int l=0;l<L;l++){ for(int j=0;j<dim;j++){ ra[l][j]=1; rf[l][j]=1; } } float* rfin=p; for(int j=0;j<dim;j++) rfin[j]=1;
  float x[384],xb[384],xb2[384],q[384],k[384],v[384],hb[1024],hb2[1024],*att=malloc(H*T*sizeof(float)),*logits=malloc(V*sizeof(float));
  float *kc=calloc((long)L*T*dim,sizeof(float)), *vc=calloc((long)L*T*dim,sizeof(float)); PI* buf=malloc(V*sizeof(PI));
  for (int rep=0; rep<3; rep++) { int token=1; double start=0;
   for (int pos=0; pos<216; pos++) {
    if (pos==16) start=now();                     // 16 prompt positions, then 200 timed tokens
    memcpy(x, emb+(long)token*dim, dim*sizeof(float));
    for (int l=0;l<L;l++){
      rmsnorm(xb,x,ra[l],dim); matmul(q,xb,wq[l],dim,dim); matmul(k,xb,wk[l],dim,dim); matmul(v,xb,wv[l],dim,dim);
      for (int i=0;i<dim;i+=2){ int hd=i%hs; float f=1.0f/powf(10000.0f,hd/(float)hs), a=pos*f, c=cosf(a), s=sinf(a);
        float q0=q[i],q1=q[i+1]; q[i]=q0*c-q1*s; q[i+1]=q0*s+q1*c; float k0=k[i],k1=k[i+1]; k[i]=k0*c-k1*s; k[i+1]=k0*s+k1*c; }
      long lo=(long)l*T*dim; memcpy(kc+lo+pos*dim,k,dim*sizeof(float)); memcpy(vc+lo+pos*dim,v,dim*sizeof(float));
      int h;
      #pragma omp parallel for private(h)
      for (h=0;h<H;h++){ float* qh=q+h*hs; float* a=att+h*T;
        for(int t=0;t<=pos;t++){ float* kh=kc+lo+t*dim+h*hs; float s=0; for(int i=0;i<hs;i++) s+=qh[i]*kh[i]; a[t]=s/sqrtf(hs); }
        softmax(a,pos+1); float* o=xb+h*hs; memset(o,0,hs*sizeof(float));
        for(int t=0;t<=pos;t++){ float* vh=vc+lo+t*dim+h*hs; for(int i=0;i<hs;i++) o[i]+=a[t]*vh[i]; } }
      matmul(xb2,xb,wo[l],dim,dim); for(int i=0;i<dim;i++) x[i]+=xb2[i];
      rmsnorm(xb,x,rf[l],dim); matmul(hb,xb,w1[l],dim,hid); matmul(hb2,xb,w3[l],dim,hid);
      for(int i=0;i<hid;i++){ float z=hb[i]; hb[i]=z/(1.0f+expf(-z))*hb2[i]; }
      matmul(xb,hb,w2[l],hid,dim); for(int i=0;i<dim;i++) x[i]+=xb[i]; }
    rmsnorm(x,x,rfin,dim); matmul(logits,x,emb,dim,V);
    if (pos < 15) { token = pos+2; continue; }
    softmax(logits,V); token = topp(logits,V,0.9f,buf); }
   double t=now()-start; printf("%.0f tokens/s (%.1f MB of weights)\n", 200/t, nw*4/1e6); }
}
